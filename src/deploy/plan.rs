//! What to do with a stack before deploying it, from its CloudFormation status alone. Pure, so
//! every status has a tested answer; moto does not produce most of these states.

/// The next step for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No stack: create it through a CREATE change set.
    Create,
    /// A stable stack: update it through an UPDATE change set.
    Update,
    /// A stack that never finished being created: delete it, then create it again.
    DeleteAndRecreate { reason: String },
    /// An operation is running: wait for it to end (with `--wait`).
    Wait { status: String },
    /// Do nothing and say why, with the way out.
    Refuse { status: String, help: String },
}

/// Decides from the stack's status (`None` when it does not exist).
pub fn decide(stack: &str, status: Option<&str>, wait: bool) -> Action {
    let Some(status) = status else {
        return Action::Create;
    };
    match status {
        "DELETE_COMPLETE" => Action::Create,
        // Only change sets never executed (an interrupted or unconfirmed deploy): the stack
        // holds no resources, so starting afresh loses nothing and leaves one change set.
        "REVIEW_IN_PROGRESS" => Action::DeleteAndRecreate {
            reason: format!(
                "{stack} is in REVIEW_IN_PROGRESS (its change sets were never executed): its empty stack is deleted and created again"
            ),
        },
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => Action::Update,
        "ROLLBACK_COMPLETE" | "CREATE_FAILED" | "ROLLBACK_FAILED" => Action::DeleteAndRecreate {
            reason: format!(
                "{stack} is in {status}: its creation failed, so it is deleted and created again"
            ),
        },
        s if s.ends_with("_IN_PROGRESS") && wait => Action::Wait {
            status: s.to_string(),
        },
        s if s.ends_with("_IN_PROGRESS") || s == "UPDATE_FAILED" => Action::Refuse {
            status: s.to_string(),
            help: busy(stack),
        },
        "UPDATE_ROLLBACK_FAILED" => Action::Refuse {
            status: status.to_string(),
            help: format!(
                "the rollback of {stack} failed; fix the resource named in its events, then run `aws cloudformation continue-update-rollback --stack-name {stack}` (optionally with --resources-to-skip) and deploy again"
            ),
        },
        "IMPORT_ROLLBACK_FAILED" => Action::Refuse {
            status: status.to_string(),
            help: format!(
                "the import rollback of {stack} failed; inspect its events in the CloudFormation console, fix the resources, then deploy again"
            ),
        },
        "DELETE_FAILED" => Action::Refuse {
            status: status.to_string(),
            help: format!(
                "{stack} could not be deleted; remove the resources its events name (e.g. a non-empty bucket), delete the stack, then deploy again"
            ),
        },
        other => Action::Refuse {
            status: other.to_string(),
            help: format!(
                "dpc does not know the status {other}; check {stack} in the CloudFormation console"
            ),
        },
    }
}

fn busy(stack: &str) -> String {
    format!("another operation on {stack} is running; run again when it ends, or pass --wait")
}

/// The next step to delete a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Nothing to delete.
    Absent,
    Delete,
    /// An operation is running: wait for it to end (with `--wait`).
    Wait,
    Refuse {
        status: String,
        help: String,
    },
}

/// Decides how to delete a stack from its status (`None` when it does not exist). Any settled
/// stack, failed ones included, can be deleted; so can one only holding change sets.
pub fn removal(stack: &str, status: Option<&str>, wait: bool) -> Removal {
    match status {
        None | Some("DELETE_COMPLETE") => Removal::Absent,
        Some("REVIEW_IN_PROGRESS") => Removal::Delete,
        Some(s) if s.ends_with("_IN_PROGRESS") && wait => Removal::Wait,
        Some(s) if s.ends_with("_IN_PROGRESS") => Removal::Refuse {
            status: s.to_string(),
            help: busy(stack),
        },
        Some(_) => Removal::Delete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stack status CloudFormation documents.
    const ALL: &[&str] = &[
        "CREATE_IN_PROGRESS",
        "CREATE_FAILED",
        "CREATE_COMPLETE",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
        "REVIEW_IN_PROGRESS",
        "IMPORT_IN_PROGRESS",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_IN_PROGRESS",
        "IMPORT_ROLLBACK_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
    ];

    fn kind(a: &Action) -> &'static str {
        match a {
            Action::Create => "create",
            Action::Update => "update",
            Action::DeleteAndRecreate { .. } => "recreate",
            Action::Wait { .. } => "wait",
            Action::Refuse { .. } => "refuse",
        }
    }

    #[test]
    fn every_status_has_the_expected_action() {
        let table: Vec<(&str, &str, &str)> = ALL
            .iter()
            .map(|s| {
                (
                    *s,
                    kind(&decide("dpc-x", Some(s), false)),
                    kind(&decide("dpc-x", Some(s), true)),
                )
            })
            .collect();
        let expected = [
            ("CREATE_IN_PROGRESS", "refuse", "wait"),
            ("CREATE_FAILED", "recreate", "recreate"),
            ("CREATE_COMPLETE", "update", "update"),
            ("ROLLBACK_IN_PROGRESS", "refuse", "wait"),
            ("ROLLBACK_FAILED", "recreate", "recreate"),
            ("ROLLBACK_COMPLETE", "recreate", "recreate"),
            ("DELETE_IN_PROGRESS", "refuse", "wait"),
            ("DELETE_FAILED", "refuse", "refuse"),
            ("DELETE_COMPLETE", "create", "create"),
            ("UPDATE_IN_PROGRESS", "refuse", "wait"),
            ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "refuse", "wait"),
            ("UPDATE_COMPLETE", "update", "update"),
            ("UPDATE_FAILED", "refuse", "refuse"),
            ("UPDATE_ROLLBACK_IN_PROGRESS", "refuse", "wait"),
            ("UPDATE_ROLLBACK_FAILED", "refuse", "refuse"),
            (
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                "refuse",
                "wait",
            ),
            ("UPDATE_ROLLBACK_COMPLETE", "update", "update"),
            ("REVIEW_IN_PROGRESS", "recreate", "recreate"),
            ("IMPORT_IN_PROGRESS", "refuse", "wait"),
            ("IMPORT_COMPLETE", "update", "update"),
            ("IMPORT_ROLLBACK_IN_PROGRESS", "refuse", "wait"),
            ("IMPORT_ROLLBACK_FAILED", "refuse", "refuse"),
            ("IMPORT_ROLLBACK_COMPLETE", "update", "update"),
        ];
        assert_eq!(table, expected);
        assert_eq!(decide("dpc-x", None, false), Action::Create);
    }

    #[test]
    fn every_status_has_a_removal() {
        for status in ALL {
            let (now, waiting) = (
                removal("dpc-x", Some(status), false),
                removal("dpc-x", Some(status), true),
            );
            let expected = match *status {
                "DELETE_COMPLETE" => (Removal::Absent, Removal::Absent),
                "REVIEW_IN_PROGRESS" => (Removal::Delete, Removal::Delete),
                s if s.ends_with("_IN_PROGRESS") => (
                    Removal::Refuse {
                        status: s.to_string(),
                        help: busy("dpc-x"),
                    },
                    Removal::Wait,
                ),
                _ => (Removal::Delete, Removal::Delete),
            };
            assert_eq!((now, waiting), expected, "{status}");
        }
        assert_eq!(removal("dpc-x", None, false), Removal::Absent);
        assert_eq!(
            removal("dpc-x", Some("UPDATE_ROLLBACK_FAILED"), false),
            Removal::Delete
        );
    }

    #[test]
    fn refusals_say_how_to_recover() {
        let Action::Refuse { help, .. } = decide("dpc-x", Some("UPDATE_ROLLBACK_FAILED"), false)
        else {
            panic!("refuse expected");
        };
        assert!(help.contains("continue-update-rollback --stack-name dpc-x"));
        let Action::Refuse { help, .. } = decide("dpc-x", Some("UPDATE_IN_PROGRESS"), false) else {
            panic!("refuse expected");
        };
        assert!(help.contains("--wait"));
        assert!(matches!(
            decide("dpc-x", Some("SOMETHING_NEW"), true),
            Action::Refuse { .. }
        ));
    }
}
