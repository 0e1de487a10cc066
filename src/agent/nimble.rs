//! stub
use crate::agent::collect::{CollectError, Collection, Collector};
use crate::agent::fetch::Fetcher;
#[derive(Debug)]
pub struct Nimble { fetcher: Fetcher }
impl Nimble { pub fn new(fetcher: Fetcher) -> Nimble { Nimble { fetcher } } }
impl Collector for Nimble {
    fn describe(&self) -> String { format!("nimble {}", self.fetcher.base()) }
    fn collect(&mut self, _now: i64) -> Result<Collection, CollectError> { Ok(Collection::default()) }
}
