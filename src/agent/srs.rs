//! stub
use crate::agent::collect::{CollectError, Collection, Collector};
use crate::agent::fetch::Fetcher;
#[derive(Debug)]
pub struct Srs { fetcher: Fetcher, tag: String }
impl Srs { pub fn new(fetcher: Fetcher, tag: String) -> Srs { Srs { fetcher, tag } } }
impl Collector for Srs {
    fn describe(&self) -> String { format!("srs {} {}", self.fetcher.base(), self.tag) }
    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> { Ok(Collection::default()) }
}
