//! Executions of this run and of earlier ones. Running executions live in the engine; each
//! one is written to `<data>/executions/<name>.json` (its DescribeExecution body and full
//! history) when it finishes, and those files are read back at start, so `copyflow up`
//! keeps its execution history across restarts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use copyflow_asl::{Engine, ExecutionStatus};
use serde_json::{Value, json};

#[derive(Clone)]
struct Stored {
    description: Value,
    events: Vec<Value>,
}

pub struct Executions {
    engine: Engine,
    dir: Option<PathBuf>,
    finished: RwLock<BTreeMap<String, Stored>>,
}

fn file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 5);
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else {
            for b in c.to_string().bytes() {
                out.push_str(&format!("~{b:02x}"));
            }
        }
    }
    out + ".json"
}

impl Executions {
    /// Loads the executions recorded under `dir` (None: keep nothing on disk).
    pub fn open(engine: Engine, dir: Option<&Path>) -> std::io::Result<Executions> {
        let mut finished = BTreeMap::new();
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir)?;
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let value: Value = serde_json::from_slice(&std::fs::read(&path)?).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", path.display()),
                    )
                })?;
                let arn = value["description"]["executionArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let events = value["events"].as_array().cloned().unwrap_or_default();
                finished.insert(
                    arn,
                    Stored {
                        description: value["description"].clone(),
                        events,
                    },
                );
            }
        }
        Ok(Executions {
            engine,
            dir: dir.map(Path::to_owned),
            finished: RwLock::new(finished),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Records the execution once it finishes (in the background).
    pub fn track(self: &Arc<Self>, arn: String) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let Some(done) = this.engine.wait_for(&arn).await else {
                return;
            };
            let events: Vec<Value> = this
                .engine
                .get_execution_history(&arn)
                .unwrap_or_default()
                .iter()
                .map(|e| e.to_json())
                .collect();
            let stored = Stored {
                description: done.to_json(),
                events,
            };
            if let Some(dir) = &this.dir {
                let body = json!({"description": stored.description, "events": stored.events});
                let path = dir.join(file_name(&done.name));
                if let Err(e) = std::fs::write(&path, body.to_string()) {
                    tracing::warn!(path = %path.display(), error = %e, "could not record the execution");
                }
            }
            this.finished
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(arn, stored);
        })
    }

    fn stored(&self, arn: &str) -> Option<Stored> {
        self.finished
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(arn)
            .cloned()
    }

    /// DescribeExecution body.
    pub fn describe(&self, arn: &str) -> Option<Value> {
        self.engine
            .describe_execution(arn)
            .map(|d| d.to_json())
            .or_else(|| self.stored(arn).map(|s| s.description))
    }

    /// GetExecutionHistory events.
    pub fn history(&self, arn: &str) -> Option<Vec<Value>> {
        match self.engine.get_execution_history(arn) {
            Some(events) => Some(events.iter().map(|e| e.to_json()).collect()),
            None => self.stored(arn).map(|s| s.events),
        }
    }

    /// ListExecutions items of one state machine, newest first.
    pub fn list(&self, machine_arn: &str, status: Option<&str>) -> Vec<Value> {
        let wanted = status.and_then(ExecutionStatus::parse);
        let mut items: BTreeMap<String, Value> = BTreeMap::new();
        for (arn, s) in self
            .finished
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let d = &s.description;
            if d["stateMachineArn"] == machine_arn && status.is_none_or(|st| d["status"] == st) {
                let mut item = serde_json::Map::new();
                for k in [
                    "executionArn",
                    "stateMachineArn",
                    "name",
                    "status",
                    "startDate",
                    "stopDate",
                ] {
                    if let Some(v) = d.get(k) {
                        item.insert(k.to_owned(), v.clone());
                    }
                }
                items.insert(arn.clone(), Value::Object(item));
            }
        }
        for d in self.engine.list_executions(Some(machine_arn), wanted) {
            items.insert(d.execution_arn.clone(), d.list_item());
        }
        let mut all: Vec<Value> = items.into_values().collect();
        all.sort_by(|a, b| {
            b["startDate"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&a["startDate"].as_f64().unwrap_or(0.0))
        });
        all
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::file_name;

    #[test]
    fn execution_names_become_safe_file_names() {
        assert_eq!(file_name("a1-b_c"), "a1-b_c.json");
        assert_eq!(file_name("a.b/c"), "a~2eb~2fc.json");
    }
}
