//! Bindable actions: what a key can do, each with the name used in config `[keys]` and
//! the description the help overlay shows. Pure data; no I/O.

/// Everything a key binding can trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Run,
    Cancel,
    EditCtx,
    Open,
    Help,
    ShowResult,
    FocusNext,
    FocusPrev,
    Submit,
    NextQuery,
    PrevQuery,
    PromptUp,
    PromptDown,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    TraceFilter,
    OpenEvent,
    Close,
    Confirm,
    Deny,
    Select,
    ApplyCtx,
    Suspend,
}

impl Action {
    /// Every action, in the order the help overlay lists them.
    pub const ALL: &'static [Action] = &[
        Action::Help,
        Action::Quit,
        Action::Run,
        Action::Cancel,
        Action::EditCtx,
        Action::Open,
        Action::ShowResult,
        Action::FocusNext,
        Action::FocusPrev,
        Action::Submit,
        Action::NextQuery,
        Action::PrevQuery,
        Action::PromptUp,
        Action::PromptDown,
        Action::ScrollUp,
        Action::ScrollDown,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::TraceFilter,
        Action::OpenEvent,
        Action::Select,
        Action::ApplyCtx,
        Action::Confirm,
        Action::Deny,
        Action::Close,
        Action::Suspend,
    ];

    /// The name used in config `[keys]` (`quit = "q"`).
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Run => "run",
            Action::Cancel => "cancel",
            Action::EditCtx => "edit_ctx",
            Action::Open => "open",
            Action::Help => "help",
            Action::ShowResult => "show_result",
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::Submit => "submit",
            Action::NextQuery => "next_query",
            Action::PrevQuery => "prev_query",
            Action::PromptUp => "prompt_up",
            Action::PromptDown => "prompt_down",
            Action::ScrollUp => "scroll_up",
            Action::ScrollDown => "scroll_down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::TraceFilter => "trace_filter",
            Action::OpenEvent => "open_event",
            Action::Close => "close",
            Action::Confirm => "confirm",
            Action::Deny => "deny",
            Action::Select => "select",
            Action::ApplyCtx => "apply_ctx",
            Action::Suspend => "suspend",
        }
    }

    /// One line for the help overlay.
    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "quit (asks first while a query waits for you)",
            Action::Run => "run the script, or re-run it",
            Action::Cancel => "cancel the running session",
            Action::EditCtx => "edit ctx as JSON before a run",
            Action::Open => "open another script or package",
            Action::Help => "show this help",
            Action::ShowResult => "show the result of the finished session",
            Action::FocusNext => "focus the next pane",
            Action::FocusPrev => "focus the previous pane",
            Action::Submit => "send the answer",
            Action::NextQuery => "next query of a batch",
            Action::PrevQuery => "previous query of a batch",
            Action::PromptUp => "scroll the prompt up",
            Action::PromptDown => "scroll the prompt down",
            Action::ScrollUp => "scroll up / select previous",
            Action::ScrollDown => "scroll down / select next",
            Action::PageUp => "scroll a page up",
            Action::PageDown => "scroll a page down",
            Action::Top => "go to the top",
            Action::Bottom => "go to the bottom (trace: follow the tail)",
            Action::TraceFilter => "cycle the trace filter by kind",
            Action::OpenEvent => "open the selected event in full",
            Action::Close => "close the overlay",
            Action::Confirm => "yes",
            Action::Deny => "no",
            Action::Select => "choose the selected item",
            Action::ApplyCtx => "apply the edited ctx",
            Action::Suspend => "suspend to the shell",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}
