//! Change set summaries: turns CloudFormation's resource changes into the `+ / ~ / -` lines
//! people read before confirming (with replacement marks), and JSON for machines.

use serde::Serialize;

/// One resource change of a change set, as CloudFormation describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for modifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

impl Change {
    fn symbol(&self) -> char {
        match self.action.as_str() {
            "Add" | "Import" => '+',
            "Remove" => '-',
            _ => '~',
        }
    }
}

/// `+ Queue (AWS::SQS::Queue)`, `~ Rule (AWS::Events::Rule) [replaces]`, … sorted by symbol
/// then id, with a count line at the end.
pub fn summary(changes: &[Change]) -> String {
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by_key(|c| (order(c.symbol()), c.logical_id.clone()));
    let mut out = String::new();
    for c in sorted {
        let mark = match c.replacement.as_deref() {
            Some("True") => " [replaces]",
            Some("Conditional") => " [may replace]",
            _ => "",
        };
        out.push_str(&format!(
            "  {} {} ({}){mark}\n",
            c.symbol(),
            c.logical_id,
            c.resource_type
        ));
    }
    let count = |s: char| changes.iter().filter(|c| c.symbol() == s).count();
    out.push_str(&format!(
        "  {} to add, {} to change, {} to remove\n",
        count('+'),
        count('~'),
        count('-')
    ));
    out
}

fn order(symbol: char) -> u8 {
    match symbol {
        '+' => 0,
        '~' => 1,
        _ => 2,
    }
}

/// The failures worth reading: resources CloudFormation cancelled because another failed are
/// consequences, shown only when nothing else failed.
pub fn root_causes(reasons: Vec<String>) -> Vec<String> {
    let consequence = |r: &String| {
        r.ends_with("Resource creation cancelled") || r.ends_with("Resource update cancelled")
    };
    if reasons.iter().all(consequence) {
        return reasons;
    }
    reasons.into_iter().filter(|r| !consequence(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, id: &str, replacement: Option<&str>) -> Change {
        Change {
            action: action.into(),
            logical_id: id.into(),
            resource_type: "AWS::X::Y".into(),
            replacement: replacement.map(Into::into),
        }
    }

    #[test]
    fn cancelled_resources_are_consequences_not_causes() {
        let cause = "StateMachine: Invalid State Machine Definition".to_string();
        let cancelled = "TriggerRule: Resource update cancelled".to_string();
        assert_eq!(
            root_causes(vec![cancelled.clone(), cause.clone()]),
            vec![cause]
        );
        assert_eq!(root_causes(vec![cancelled.clone()]), vec![cancelled]);
    }

    #[test]
    fn summarises_with_symbols_and_replacement_marks() {
        let text = summary(&[
            change("Remove", "Old", None),
            change("Modify", "Rule", Some("True")),
            change("Add", "Queue", None),
            change("Modify", "Topic", Some("Conditional")),
            change("Modify", "Role", Some("False")),
        ]);
        assert_eq!(
            text,
            "  + Queue (AWS::X::Y)\n  ~ Role (AWS::X::Y)\n  ~ Rule (AWS::X::Y) [replaces]\n  ~ Topic (AWS::X::Y) [may replace]\n  - Old (AWS::X::Y)\n  1 to add, 3 to change, 1 to remove\n"
        );
    }
}
