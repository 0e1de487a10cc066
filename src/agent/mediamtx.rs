//! stub
use crate::agent::collect::{CollectError, Collection, Collector};
use crate::agent::fetch::Fetcher;
#[derive(Debug)]
pub struct Mediamtx { fetcher: Fetcher, tag: String }
impl Mediamtx { pub fn new(fetcher: Fetcher, tag: String) -> Mediamtx { Mediamtx { fetcher, tag } } }
impl Collector for Mediamtx {
    fn describe(&self) -> String { format!("mediamtx {} {}", self.fetcher.base(), self.tag) }
    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> { Ok(Collection::default()) }
}
