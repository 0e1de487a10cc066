//! stub
use crate::agent::collect::{CollectError, Collection, Collector};
use crate::agent::fetch::Fetcher;
#[derive(Debug)]
pub struct Icecast { fetcher: Fetcher, tag: String }
impl Icecast { pub fn new(fetcher: Fetcher, tag: String) -> Icecast { Icecast { fetcher, tag } } }
impl Collector for Icecast {
    fn describe(&self) -> String { format!("icecast {} {}", self.fetcher.base(), self.tag) }
    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> { Ok(Collection::default()) }
}
