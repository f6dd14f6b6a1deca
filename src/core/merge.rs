//! Clerk's merge rules, and the patch that sets keys to exact values through them.
//!
//! `PATCH /v1/users/{id}/metadata` deep-merges the body into the stored metadata (JSON Merge
//! Patch, RFC 7396): nested objects merge, a member set to `null` is removed at any depth, arrays
//! and scalars replace. [`apply_merge_patch`] is the model of that rule; it is what the property
//! tests check every patch against.

use super::error::{quoted, Error};
use serde_json::Value;

use super::Map;

/// Applies a merge patch to `target` exactly as Clerk does.
pub fn apply_merge_patch(target: &mut Map, patch: &Map) {
    for (key, patch_value) in patch {
        match patch_value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(patch_object) => {
                if !target.get(key).is_some_and(Value::is_object) {
                    target.insert(key.clone(), Value::Object(Map::new()));
                }
                if let Some(Value::Object(slot_object)) = target.get_mut(key) {
                    apply_merge_patch(slot_object, patch_object);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

/// The first place in `value` where a merge would read `null` as "remove": a `null` that is
/// the value itself or a member of an object (nulls inside arrays are plain data).
pub fn first_member_null(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Null => Some(path.to_owned()),
        Value::Object(object) => object
            .iter()
            .find_map(|(key, member)| first_member_null(member, &format!("{path}.{key}"))),
        _ => None,
    }
}

/// Whether setting this value exactly needs the stored value first.
///
/// Only objects do: a merge of `{}` or `{a: 1}` into a stored object would keep the stored
/// object's other members, so the patch must name them with `null`. Any other value replaces
/// whatever is stored, so it is one blind write.
pub fn needs_current_value(value: &Value) -> bool {
    value.is_object()
}

/// Builds the merge patch that leaves `metadata[key]` deep-equal to `value` for each entry and
/// every other top-level key untouched.
///
/// `current` is the stored metadata (needed only when some value is an object, see
/// [`needs_current_value`]). Values containing a member `null` are refused: Clerk's merge would
/// delete that member instead of storing it, so the exact-set promise could not be kept.
pub fn exact_set_patch(current: Option<&Map>, entries: &Map, what: &str) -> Result<Map, Error> {
    let mut patch = Map::new();
    for (key, value) in entries {
        if let Some(path) = first_member_null(value, "") {
            let place = if path.is_empty() {
                format!("{what} for key {} is null", quoted(key))
            } else {
                format!(
                    "{what} for key {} has null at {}",
                    quoted(key),
                    path.get(1..).unwrap_or(&path)
                )
            };
            return Err(Error::invalid_argument(format!(
                "{place}; Clerk's merge treats null as \"remove this key\", so it cannot be stored this way (to remove a key use removeUserPublicMetadataKeys, or removeKeys on a metadata field)"
            )));
        }
        let stored = current.and_then(|object| object.get(key));
        patch.insert(key.clone(), replacement_patch(stored, value));
    }
    Ok(patch)
}

/// The patch that turns `stored` into `value` under merge rules.
fn replacement_patch(stored: Option<&Value>, value: &Value) -> Value {
    match (stored, value) {
        (Some(Value::Object(stored_object)), Value::Object(value_object)) => {
            let mut patch = Map::new();
            for stale in stored_object
                .keys()
                .filter(|k| !value_object.contains_key(k.as_str()))
            {
                patch.insert(stale.clone(), Value::Null);
            }
            for (key, member) in value_object {
                patch.insert(
                    key.clone(),
                    replacement_patch(stored_object.get(key), member),
                );
            }
            Value::Object(patch)
        }
        _ => value.clone(),
    }
}

/// The patch that removes each key: `{key: null, ...}`.
pub fn removal_patch<'a>(keys: impl IntoIterator<Item = &'a str>) -> Map {
    keys.into_iter()
        .map(|key| (key.to_owned(), Value::Null))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_support::{object, value};
    use serde_json::json;

    #[test]
    fn merge_is_deep_and_null_removes_at_any_depth() {
        let mut stored = object(json!({"a": {"x": 1, "y": {"z": 2}}, "b": [1, 2], "c": 1}));
        apply_merge_patch(
            &mut stored,
            &object(
                json!({"a": {"y": {"z": null, "w": 3}}, "b": [3], "c": null, "d": {"e": null}}),
            ),
        );
        assert_eq!(
            Value::Object(stored),
            value(json!({"a": {"x": 1, "y": {"w": 3}}, "b": [3], "d": {}}))
        );
    }

    #[test]
    fn exact_set_replaces_an_object_instead_of_merging_into_it() {
        let mut stored =
            object(json!({"prefs": {"theme": "dark", "n": {"a": 1, "b": 2}}, "role": "x"}));
        let entries = object(json!({"prefs": {"n": {"b": 3}}}));
        let patch = exact_set_patch(Some(&stored), &entries, "value").unwrap();
        assert_eq!(
            Value::Object(patch.clone()),
            value(json!({"prefs": {"theme": null, "n": {"a": null, "b": 3}}}))
        );
        apply_merge_patch(&mut stored, &patch);
        assert_eq!(
            Value::Object(stored),
            value(json!({"prefs": {"n": {"b": 3}}, "role": "x"}))
        );
    }

    #[test]
    fn exact_set_of_an_empty_object_clears_the_stored_one() {
        let mut stored = object(json!({"prefs": {"theme": "dark"}}));
        let patch = exact_set_patch(Some(&stored), &object(json!({"prefs": {}})), "value").unwrap();
        apply_merge_patch(&mut stored, &patch);
        assert_eq!(Value::Object(stored), value(json!({"prefs": {}})));
    }

    #[test]
    fn scalars_and_arrays_need_no_read() {
        assert!(!needs_current_value(&value(json!("admin"))));
        assert!(!needs_current_value(&value(json!([{"a": null}]))));
        assert!(needs_current_value(&value(json!({}))));
        let patch = exact_set_patch(None, &object(json!({"tags": [null, 1]})), "value").unwrap();
        assert_eq!(Value::Object(patch), value(json!({"tags": [null, 1]})));
    }

    #[test]
    fn member_nulls_are_refused_with_their_path() {
        let error = exact_set_patch(None, &object(json!({"role": null})), "value").unwrap_err();
        assert!(
            error.reason.starts_with("value for key \"role\" is null"),
            "{}",
            error.reason
        );
        let error =
            exact_set_patch(None, &object(json!({"p": {"a": {"b": null}}})), "value").unwrap_err();
        assert!(error.reason.contains("has null at a.b"), "{}", error.reason);
    }

    #[test]
    fn removal_patch_nulls_each_key() {
        assert_eq!(
            Value::Object(removal_patch(["a", "b"])),
            value(json!({"a": null, "b": null}))
        );
    }
}
