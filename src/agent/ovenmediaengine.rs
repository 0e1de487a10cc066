//! stub
use crate::agent::collect::{CollectError, Collection, Collector};
use crate::agent::fetch::Fetcher;
#[derive(Debug)]
pub struct OvenMediaEngine { fetcher: Fetcher }
impl OvenMediaEngine { pub fn new(fetcher: Fetcher) -> OvenMediaEngine { OvenMediaEngine { fetcher } } }
impl Collector for OvenMediaEngine {
    fn describe(&self) -> String { format!("ovenmediaengine {}", self.fetcher.base()) }
    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> { Ok(Collection::default()) }
}
