//! (temporary stand-in; replaced by the state store module)
use serde_json::Value;
use std::path::Path;
pub struct StateStore(std::collections::BTreeMap<String, Value>);
#[derive(Debug, thiserror::Error)]
#[error("state error")]
pub struct StateError;
impl StateStore {
    pub fn open(_d: &Path, _ns: &str) -> Result<Self, StateError> { Ok(StateStore(Default::default())) }
    pub fn get(&self, k: &str) -> Option<Value> { self.0.get(k).cloned() }
    pub fn set(&mut self, k: &str, v: Value) -> Result<(), StateError> { self.0.insert(k.into(), v); Ok(()) }
    pub fn keys(&self) -> Vec<String> { self.0.keys().cloned().collect() }
    pub fn delete(&mut self, k: &str) -> Result<bool, StateError> { Ok(self.0.remove(k).is_some()) }
    pub fn has(&self, k: &str) -> bool { self.0.contains_key(k) }
    pub fn set_nx(&mut self, k: &str, v: Value) -> Result<bool, StateError> { if self.has(k) { Ok(false) } else { self.0.insert(k.into(), v); Ok(true) } }
    pub fn incr(&mut self, k: &str, d: f64, def: f64) -> Result<Value, StateError> { let n = self.get(k).and_then(|v| v.as_f64()).unwrap_or(def) + d; self.0.insert(k.into(), n.into()); Ok(n.into()) }
}
