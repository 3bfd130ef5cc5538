//! Jinja2's mutable containers, made safe for untrusted templates.
//!
//! Jinja2 templates build lists with `namespace()`: `{% set ns = namespace(items=[]) %}`,
//! `{% set _ = ns.items.append(x) %}`, `{% set ns.count = ns.count + 1 %}`. minijinja
//! values are immutable except for its own namespace, so we supply both containers:
//! [`Namespace`] (attributes set with `{% set ns.attr = v %}`, which
//! [`super::rewrite`] turns into a call of `__ck_ns_set`) and [`AppendableList`].
//!
//! Mutation is what lets a template build a value that contains itself
//! (`{% set ns.me = ns %}`, `ns.items.append(ns.items)`), and printing such a value
//! recurses until the stack overflows: the process aborts, whatever catches panics.
//! So every value stored into a container goes through [`freeze`] first, which
//! refuses values that contain a mutable container (the one error Python's Jinja2
//! does not give: it stores references) and copies lazy views (`ns.items | reverse`)
//! into plain lists. Mutable containers then only ever hold immutable, finite values:
//! no cycle can form, and nesting is bounded by [`MAX_VALUE_DEPTH`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{Enumerator, Object, ObjectRepr, ValueKind, ValueOrKwargs};
use minijinja::{Error, ErrorKind, State, Value};

/// How deeply a value stored into a namespace or list may nest. Widget trees are far
/// shallower; the limit only keeps printing and `tojson` within the stack.
pub(crate) const MAX_VALUE_DEPTH: usize = 128;

/// The error for a value nested deeper than [`MAX_VALUE_DEPTH`].
pub(crate) fn too_deep() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("value nested more than {MAX_VALUE_DEPTH} levels deep"),
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a map or Vec half-written.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `namespace(...)`: keyword arguments or one map become its attributes; list values
/// become [`AppendableList`]s.
pub(crate) fn namespace(
    state: &State<'_, '_>,
    defaults: Option<ValueOrKwargs>,
) -> Result<Value, Error> {
    let namespace = Namespace::default();
    if let Some(defaults) = defaults {
        let defaults = defaults.into_value();
        if defaults.kind() != ValueKind::Map {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "namespace() takes keyword arguments or a map, not {}",
                    defaults.kind()
                ),
            ));
        }
        for key in defaults.try_iter()? {
            let value = defaults.get_item(&key)?;
            namespace.set(state, &key.to_string(), value)?;
        }
    }
    Ok(Value::from_object(namespace))
}

/// `__ck_ns_set(ns, "attr", value)`: what `{% set ns.attr = value %}` becomes.
pub(crate) fn namespace_set(
    state: &State<'_, '_>,
    target: &Value,
    attribute: &str,
    value: Value,
) -> Result<Value, Error> {
    let Some(namespace) = target.downcast_object_ref::<Namespace>() else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("can only assign to namespaces, not {}", target.kind()),
        ));
    };
    namespace.set(state, attribute, value)?;
    Ok(Value::from(()))
}

/// A Jinja2 namespace: attributes that `{% set ns.attr = value %}` can change.
#[derive(Debug, Default)]
pub(crate) struct Namespace {
    attributes: Mutex<BTreeMap<String, Value>>,
}

impl Namespace {
    fn set(&self, state: &State<'_, '_>, attribute: &str, value: Value) -> Result<(), Error> {
        let value = freeze(state, value)?;
        // A list stored in a namespace can be appended to, as in Python.
        let value = if value.kind() == ValueKind::Seq {
            Value::from_object(AppendableList::new(value.try_iter()?.collect()))
        } else {
            value
        };
        lock(&self.attributes).insert(attribute.to_owned(), value);
        Ok(())
    }
}

impl Object for Namespace {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        lock(&self.attributes).get(key.as_str()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.attributes).keys().map(Value::from).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.attributes).len())
    }
}

/// A list that templates can grow with `.append(x)` (and `.extend(xs)`).
#[derive(Debug, Default)]
pub(crate) struct AppendableList {
    items: Mutex<Vec<Value>>,
}

impl AppendableList {
    fn new(items: Vec<Value>) -> Self {
        AppendableList {
            items: Mutex::new(items),
        }
    }
}

impl Object for AppendableList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = lock(&self.items);
        let index = i64::try_from(key.clone()).ok()?;
        let index = if index < 0 {
            i64::try_from(items.len()).ok()? + index
        } else {
            index
        };
        items.get(usize::try_from(index).ok()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.items).clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.items).len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("append", [item]) => {
                let item = freeze(state, item.clone())?;
                lock(&self.items).push(item);
            }
            ("extend", [items]) => {
                let mut new = Vec::new();
                for item in items.try_iter()? {
                    new.push(freeze(state, item)?);
                }
                lock(&self.items).extend(new);
            }
            ("append" | "extend", _) => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("list.{method}() takes exactly one argument"),
                ))
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }
}

fn is_mutable_container(value: &Value) -> bool {
    value.downcast_object_ref::<Namespace>().is_some()
        || value.downcast_object_ref::<AppendableList>().is_some()
}

/// `value` as it may be stored in a mutable container: the same value when it holds
/// no mutable container and no lazy view, a copy with views turned into lists when it
/// holds views, an error when it holds a namespace or appendable list (which could
/// later be made to contain the container itself) or nests deeper than
/// [`MAX_VALUE_DEPTH`]. Each value visited costs one unit of fuel.
fn freeze(state: &State<'_, '_>, value: Value) -> Result<Value, Error> {
    Ok(freeze_inner(state, &value, 0)?.unwrap_or(value))
}

/// [`freeze`], returning `None` when the value can be stored as it is.
fn freeze_inner(
    state: &State<'_, '_>,
    value: &Value,
    depth: usize,
) -> Result<Option<Value>, Error> {
    state.consume_fuel(1)?;
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    if is_mutable_container(value) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a namespace or a namespace's list cannot be stored inside another \
             (copy what you need with `| list` or a new map)",
        ));
    }
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let lazy = value.kind() == ValueKind::Iterable;
            let items: Vec<Value> = value.try_iter()?.collect();
            let mut frozen: Option<Vec<Value>> = lazy.then(|| items.clone());
            for (i, item) in items.iter().enumerate() {
                if let Some(copy) = freeze_inner(state, item, depth + 1)? {
                    frozen.get_or_insert_with(|| items.clone())[i] = copy;
                }
            }
            Ok(frozen.map(Value::from))
        }
        ValueKind::Map => {
            let mut entries = Vec::new();
            let mut changed = false;
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                match freeze_inner(state, &item, depth + 1)? {
                    Some(copy) => {
                        changed = true;
                        entries.push((key, copy));
                    }
                    None => entries.push((key, item)),
                }
            }
            Ok(changed.then(|| Value::from_iter(entries)))
        }
        _ => Ok(None),
    }
}
