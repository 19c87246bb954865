//! The picker's model: what is on offer (found by the CLI: demo scripts, runnable
//! packages with their description and the ctx fields their `run` takes), the filter
//! typed so far, and the ctx a package starts with. Pure: no I/O.

use ratatui_textarea::TextArea;
use serde_json::Value;

use super::{App, Effect, Overlay};

/// One thing the picker offers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Choice {
    /// A script path or a package name, as `run` takes it.
    pub name: String,
    /// The package's `meta.description`.
    pub description: Option<String>,
    /// A package (picking it opens the ctx editor first) rather than a script file.
    pub package: bool,
    /// The fields of `M.spec.entries.run.input`, required ones first.
    pub input: Vec<InputField>,
}

/// One field of a package's run input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputField {
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
}

/// The JSON kind a field takes (for its empty value in the ctx editor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    String,
    Number,
    Boolean,
    Array,
    Object,
    Other,
}

impl FieldKind {
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Number => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Array => "array",
            FieldKind::Object => "table",
            FieldKind::Other => "any",
        }
    }

    fn empty(self) -> Value {
        match self {
            FieldKind::Number => Value::from(0),
            FieldKind::Boolean => Value::Bool(false),
            FieldKind::Array => Value::Array(Vec::new()),
            FieldKind::Object => Value::Object(Default::default()),
            FieldKind::String | FieldKind::Other => Value::from(""),
        }
    }
}

/// A path ending in `.lua` is a script; anything else names a package.
impl From<&str> for Choice {
    fn from(name: &str) -> Self {
        Choice {
            name: name.to_string(),
            package: !name.ends_with(".lua"),
            ..Default::default()
        }
    }
}

impl From<String> for Choice {
    fn from(name: String) -> Self {
        Choice::from(name.as_str())
    }
}

/// Indexes of the choices the filter lets through: every word of it appears in the
/// name or the description, ignoring case.
pub fn filtered(choices: &[Choice], filter: &str) -> Vec<usize> {
    let words: Vec<String> = filter.split_whitespace().map(str::to_lowercase).collect();
    choices
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let hay = format!(
                "{} {}",
                c.name.to_lowercase(),
                c.description.as_deref().unwrap_or("").to_lowercase()
            );
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The ctx a package starts with, as JSON text in field order: its required input
/// fields (`task` when it declares none), each with the value the current ctx has for
/// it or an empty one of its kind, and the current `budget`.
pub fn ctx_template(choice: &Choice, current: &Value) -> String {
    let mut fields: Vec<(String, FieldKind)> = choice
        .input
        .iter()
        .filter(|f| f.required)
        .map(|f| (f.name.clone(), f.kind))
        .collect();
    if fields.is_empty() {
        fields.push(("task".into(), FieldKind::String));
    }
    if current.get("budget").is_some() && fields.iter().all(|(n, _)| n != "budget") {
        fields.push(("budget".into(), FieldKind::Object));
    }
    let rows: Vec<String> = fields
        .iter()
        .map(|(name, kind)| {
            let value = current
                .get(name)
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or_else(|| kind.empty());
            let key = serde_json::to_string(name).unwrap_or_default();
            let value = serde_json::to_string(&value).unwrap_or_default();
            format!("  {key}: {value}")
        })
        .collect();
    format!("{{\n{}\n}}", rows.join(",\n"))
}

/// What the ctx editor says about the optional fields (JSON has no comments).
pub fn optional_hint(choice: &Choice) -> Option<String> {
    let optional: Vec<String> = choice
        .input
        .iter()
        .filter(|f| !f.required)
        .map(|f| format!("{} ({})", f.name, f.kind.label()))
        .collect();
    (!optional.is_empty()).then(|| format!("optional: {}", optional.join(", ")))
}

/// `o`: opens the picker, or says there is nothing to open.
pub(super) fn open(app: &mut App) {
    if app.choices.is_empty() {
        app.message = Some("no scripts or packages to open".into());
    } else {
        app.overlay = Some(Overlay::Picker {
            selected: 0,
            filter: String::new(),
        });
    }
}

/// The choices the picker shows now (its filter applied), and the selected one.
pub fn shown(app: &App) -> Option<(Vec<usize>, usize)> {
    let Some(Overlay::Picker { selected, filter }) = &app.overlay else {
        return None;
    };
    let list = filtered(&app.choices, filter);
    let selected = (*selected).min(list.len().saturating_sub(1));
    Some((list, selected))
}

/// Moves the selection by `delta` rows (`isize::MIN`/`MAX`: to the first/last).
pub(super) fn move_selection(app: &mut App, delta: isize) {
    let len = shown(app).map_or(0, |(list, _)| list.len());
    if let Some(Overlay::Picker { selected, .. }) = &mut app.overlay {
        *selected = selected
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
    }
}

/// Typing filters the list (backspace takes back); the selection goes to the top.
pub(super) fn edit_filter(app: &mut App, typed: Option<&str>) {
    if let Some(Overlay::Picker { selected, filter }) = &mut app.overlay {
        match typed {
            Some(text) => filter.push_str(text.lines().next().unwrap_or("")),
            None => {
                filter.pop();
            }
        }
        *selected = 0;
    }
}

/// Enter: a script runs at once (a session still running is cancelled); a package
/// opens the ctx editor, pre-filled from its run input, and runs when applied.
pub(super) fn pick(app: &mut App, fx: &mut Vec<Effect>) {
    let Some((list, selected)) = shown(app) else {
        return;
    };
    let Some(choice) = list.get(selected).map(|&i| app.choices[i].clone()) else {
        return;
    };
    app.overlay = None;
    if choice.package {
        let text = ctx_template(&choice, &app.session.ctx);
        edit_ctx(
            app,
            &text,
            Some(choice.name.clone()),
            optional_hint(&choice),
        );
        return;
    }
    run(app, choice.name, fx);
}

/// Runs `script` with the current ctx, cancelling a session still running.
fn run(app: &mut App, script: String, fx: &mut Vec<Effect>) {
    if app.is_running() {
        fx.push(Effect::Cancel);
    }
    app.session.script = Some(script);
    super::update::start(app, fx);
}

/// Opens the ctx editor on `text`; `run` is the script to start once it is applied.
pub(super) fn edit_ctx(app: &mut App, text: &str, run: Option<String>, hint: Option<String>) {
    let mut editor = TextArea::new(text.lines().map(str::to_string).collect());
    editor.set_placeholder_text("{}");
    editor.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    app.overlay = Some(Overlay::Ctx {
        editor: Box::new(editor),
        error: None,
        run,
        hint,
    });
}

/// Applies the edited ctx (keeping the text on a JSON error); runs the picked package.
pub(super) fn apply_ctx(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(Overlay::Ctx {
        editor, error, run, ..
    }) = &mut app.overlay
    else {
        return;
    };
    let text = editor.lines().join("\n");
    match serde_json::from_str::<Value>(&text) {
        Ok(ctx) => {
            let script = run.take();
            app.session.ctx = ctx;
            app.overlay = None;
            match script {
                Some(script) => self::run(app, script, fx),
                None => app.message = Some("ctx updated; run to use it".into()),
            }
        }
        Err(e) => *error = Some(format!("invalid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cot() -> Choice {
        Choice {
            name: "cot".into(),
            description: Some("Iterative chain-of-thought".into()),
            package: true,
            input: vec![
                InputField {
                    name: "task".into(),
                    kind: FieldKind::String,
                    required: true,
                },
                InputField {
                    name: "depth".into(),
                    kind: FieldKind::Number,
                    required: false,
                },
            ],
        }
    }

    #[test]
    fn the_filter_matches_every_word_in_name_or_description() {
        let choices = vec![Choice::from("demo/vote.lua"), cot(), Choice::from("panel")];
        assert_eq!(filtered(&choices, ""), vec![0, 1, 2]);
        assert_eq!(filtered(&choices, "CHAIN"), vec![1]);
        assert_eq!(filtered(&choices, "cot chain"), vec![1]);
        assert_eq!(filtered(&choices, "cot vote"), Vec::<usize>::new());
        assert_eq!(filtered(&choices, "demo"), vec![0]);
    }

    #[test]
    fn a_template_holds_the_required_fields_and_keeps_what_the_ctx_has() {
        let text = ctx_template(&cot(), &json!({}));
        assert_eq!(text, "{\n  \"task\": \"\"\n}");
        let text = ctx_template(
            &cot(),
            &json!({"task": "Why?", "other": 1, "budget": {"max_llm_calls": 3}}),
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({"task": "Why?", "budget": {"max_llm_calls": 3}})
        );
        // No spec: task at least.
        let text = ctx_template(&Choice::from("plain"), &json!({}));
        assert_eq!(text, "{\n  \"task\": \"\"\n}");
        assert_eq!(
            optional_hint(&cot()).as_deref(),
            Some("optional: depth (number)")
        );
        assert_eq!(optional_hint(&Choice::from("plain")), None);
    }
}
