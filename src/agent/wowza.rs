//! stub
use crate::agent::collect::{CollectError, Collection, Collector};
use crate::agent::fetch::Fetcher;
#[derive(Debug)]
pub struct Wowza { fetcher: Fetcher }
impl Wowza { pub fn new(fetcher: Fetcher) -> Wowza { Wowza { fetcher } } }
impl Collector for Wowza {
    fn describe(&self) -> String { format!("wowza {}", self.fetcher.base()) }
    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> { Ok(Collection::default()) }
}
