//! The context object (`$$`) and the evaluation scope of paths, templates and intrinsics.
//!
//! Shape per <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>:
//! `Execution` (`Id`, `Input`, `Name`, `RoleArn`, `StartTime`, `RedriveCount`), `State`
//! (`EnteredTime`, `Name`, and `RetryCount` in states that retry), `StateMachine` (`Id`,
//! `Name`) and, while a Map selects its items, `Map.Item` (`Index`, `Value`). It is built lazily,
//! only when a `$$` path is actually evaluated.

use std::cell::OnceCell;

use serde_json::{Map, Value};

use crate::clock::RandomSource;
use crate::path::{Missing, Path, Root};

/// Per-execution facts shared by every state of one execution.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionContext {
    pub id: String,
    pub name: String,
    pub role_arn: String,
    pub start_time: String,
    pub input: Value,
    pub state_machine_id: String,
    pub state_machine_name: String,
}

/// The context object of one state evaluation.
pub(crate) struct ContextObject<'a> {
    execution: &'a ExecutionContext,
    state_name: &'a str,
    entered_time: &'a str,
    retry_count: Option<u32>,
    map_item: Option<(usize, &'a Value)>,
    built: OnceCell<Value>,
}

impl<'a> ContextObject<'a> {
    pub(crate) fn new(
        execution: &'a ExecutionContext,
        state_name: &'a str,
        entered_time: &'a str,
        retry_count: Option<u32>,
    ) -> Self {
        ContextObject {
            execution,
            state_name,
            entered_time,
            retry_count,
            map_item: None,
            built: OnceCell::new(),
        }
    }

    /// The same context with `Map.Item` set (Map `ItemSelector`/`Parameters`).
    pub(crate) fn with_map_item(&self, index: usize, value: &'a Value) -> ContextObject<'a> {
        ContextObject {
            execution: self.execution,
            state_name: self.state_name,
            entered_time: self.entered_time,
            retry_count: self.retry_count,
            map_item: Some((index, value)),
            built: OnceCell::new(),
        }
    }

    /// The context object as JSON.
    pub(crate) fn value(&self) -> &Value {
        self.built.get_or_init(|| self.build())
    }

    fn build(&self) -> Value {
        let e = self.execution;
        let mut execution = Map::new();
        execution.insert("Id".into(), Value::String(e.id.clone()));
        execution.insert("Input".into(), e.input.clone());
        execution.insert("Name".into(), Value::String(e.name.clone()));
        execution.insert("RoleArn".into(), Value::String(e.role_arn.clone()));
        execution.insert("StartTime".into(), Value::String(e.start_time.clone()));
        execution.insert("RedriveCount".into(), Value::from(0));
        let mut state = Map::new();
        state.insert(
            "EnteredTime".into(),
            Value::String(self.entered_time.to_owned()),
        );
        state.insert("Name".into(), Value::String(self.state_name.to_owned()));
        if let Some(n) = self.retry_count {
            state.insert("RetryCount".into(), Value::from(n));
        }
        let mut machine = Map::new();
        machine.insert("Id".into(), Value::String(e.state_machine_id.clone()));
        machine.insert("Name".into(), Value::String(e.state_machine_name.clone()));
        let mut root = Map::new();
        root.insert("Execution".into(), Value::Object(execution));
        root.insert("State".into(), Value::Object(state));
        root.insert("StateMachine".into(), Value::Object(machine));
        if let Some((index, value)) = self.map_item {
            let mut item = Map::new();
            item.insert("Index".into(), Value::from(index));
            item.insert("Value".into(), value.clone());
            let mut map = Map::new();
            map.insert("Item".into(), Value::Object(item));
            root.insert("Map".into(), Value::Object(map));
        }
        Value::Object(root)
    }
}

/// What paths, templates and intrinsic functions are evaluated against.
pub(crate) struct Scope<'a> {
    /// The document `$` refers to.
    pub input: &'a Value,
    /// The document `$$` refers to.
    pub context: &'a ContextObject<'a>,
    /// For `States.UUID` and `States.MathRandom`.
    pub random: &'a dyn RandomSource,
}

impl Scope<'_> {
    /// Evaluate `path` against `$` or `$$`.
    pub(crate) fn select(&self, path: &Path) -> Result<Value, Missing> {
        match path.root() {
            Root::Input => path.select_value(self.input),
            Root::Context => path.select_value(self.context.value()),
            Root::Current => Err(Missing {
                detail: "'@' is only valid inside a filter".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn execution() -> ExecutionContext {
        ExecutionContext {
            id: "arn:aws:states:us-east-1:1:execution:sm:e".into(),
            name: "e".into(),
            role_arn: "role".into(),
            start_time: "2024-01-01T00:00:00.000Z".into(),
            input: json!({"a": 1}),
            state_machine_id: "arn:aws:states:us-east-1:1:stateMachine:sm".into(),
            state_machine_name: "sm".into(),
        }
    }

    #[test]
    fn context_object_has_execution_state_and_state_machine() {
        let e = execution();
        let ctx = ContextObject::new(&e, "S", "2024-01-01T00:00:01.000Z", Some(2));
        let v = ctx.value();
        assert_eq!(v["Execution"]["Input"], json!({"a": 1}));
        assert_eq!(v["State"]["Name"], json!("S"));
        assert_eq!(v["State"]["RetryCount"], json!(2));
        assert_eq!(v["StateMachine"]["Name"], json!("sm"));
        assert!(v.get("Map").is_none());
    }

    #[test]
    fn map_items_appear_only_while_selecting_items() {
        let e = execution();
        let ctx = ContextObject::new(&e, "M", "t", None);
        let item = json!("x");
        let with = ctx.with_map_item(3, &item);
        assert_eq!(
            with.value()["Map"]["Item"],
            json!({"Index": 3, "Value": "x"})
        );
        assert!(ctx.value()["State"].get("RetryCount").is_none());
    }
}
