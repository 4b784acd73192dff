//! Trigger checks: blocks (allOf/anyOf/operator), execution and data product leaves, status
//! canonicalisation, self-dependency, merging repeated upstreams, window and propagate.

use std::collections::BTreeSet;

use super::{Checker, schedule, values};
use crate::diag::codes;
use crate::diag::diagnostic::did_you_mean;
use crate::pipeline::model::{self, Condition, Status};
use crate::pipeline::raw::{self, Block, Operator, StatusList};
use crate::pipeline::schema::Target;

/// The pipeline's own identity, for the self-dependency check.
pub struct SelfId<'a> {
    pub name: Option<&'a str>,
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
}

pub fn trigger(c: &mut Checker, raw: &raw::Trigger, me: &SelfId) -> Option<model::Trigger> {
    if raw.schedule.is_none() && raw.executions.is_none() && raw.data_products.is_none() {
        c.emit(
            &codes::TRIGGER_EMPTY_BLOCK,
            "/trigger",
            Target::Key,
            "`trigger` has no schedule, executions or dataProducts",
            Some("add one, or remove `trigger` to run the pipeline only by hand".into()),
        );
        return None;
    }
    let errors_before = c.diags.iter().filter(|d| d.is_error()).count();
    let schedule = raw
        .schedule
        .as_ref()
        .and_then(|s| schedule::schedule(c, "/trigger/schedule", s));
    let executions = raw.executions.as_ref().and_then(|b| {
        block(
            c,
            "/trigger/executions",
            b,
            |c, p, leaf| execution_leaf(c, p, leaf, me),
            merge_executions,
        )
    });
    let data_products = raw.data_products.as_ref().and_then(|b| {
        block(
            c,
            "/trigger/dataProducts",
            b,
            data_product_leaf,
            merge_data_products,
        )
    });
    let has_deps = raw.executions.is_some() || raw.data_products.is_some();
    let window = window(c, raw.window.as_ref(), has_deps);
    let ok = c.diags.iter().filter(|d| d.is_error()).count() == errors_before;
    ok.then(|| model::Trigger {
        schedule,
        executions,
        data_products,
        window: window.unwrap_or(model::Window::SinceLastTrigger),
        propagate_manual: raw.propagate.contains(&raw::RunType::Manual),
    })
}

type Merge<L> = fn(&mut Checker, &str, bool, &[(String, L)]) -> Option<Vec<L>>;

/// Checks one allOf/anyOf/operator block; leaves are checked by `leaf` and merged by `merge`.
fn block<R, L>(
    c: &mut Checker,
    pointer: &str,
    raw: &Block<R>,
    leaf: impl Fn(&mut Checker, &str, &R) -> Option<L>,
    merge: Merge<L>,
) -> Option<Condition<L>> {
    let mut ok = true;
    if raw.all_of.is_none() && raw.any_of.is_none() {
        c.emit(
            &codes::TRIGGER_EMPTY_BLOCK,
            pointer,
            Target::Key,
            format!("`{}` has neither allOf nor anyOf", last(pointer)),
            Some("add `allOf:` (every leaf must hold) or `anyOf:` (at least one)".into()),
        );
        return None;
    }
    match (&raw.all_of, &raw.any_of, raw.operator) {
        (Some(_), Some(_), None) => {
            c.emit(
                &codes::TRIGGER_MISSING_OPERATOR,
                pointer,
                Target::Key,
                "`allOf` and `anyOf` are both given without `operator`",
                Some(
                    "add `operator: AND` (both must hold) or `operator: OR` (either is enough)"
                        .into(),
                ),
            );
            ok = false;
        }
        (Some(_), None, Some(_)) | (None, Some(_), Some(_)) => {
            c.emit(
                &codes::TRIGGER_USELESS_OPERATOR,
                &format!("{pointer}/operator"),
                Target::Key,
                "`operator` has no effect with only one of allOf and anyOf",
                Some("remove it".into()),
            );
        }
        _ => {}
    }
    let mut lists = [Vec::new(), Vec::new()];
    for (i, (name, list)) in [("allOf", &raw.all_of), ("anyOf", &raw.any_of)]
        .into_iter()
        .enumerate()
    {
        let Some(list) = list else { continue };
        let list_ptr = format!("{pointer}/{name}");
        if list.is_empty() {
            c.emit(
                &codes::TRIGGER_EMPTY_BLOCK,
                &list_ptr,
                Target::Key,
                format!("`{name}` is empty"),
                Some("list at least one leaf, or remove the key".into()),
            );
            ok = false;
            continue;
        }
        let mut checked = Vec::new();
        for (j, item) in list.iter().enumerate() {
            let leaf_ptr = format!("{list_ptr}/{j}");
            match leaf(c, &leaf_ptr, item) {
                Some(l) => checked.push((leaf_ptr, l)),
                None => ok = false,
            }
        }
        match merge(c, &list_ptr, i == 0, &checked) {
            Some(merged) => lists[i] = merged,
            None => ok = false,
        }
    }
    let [all_of, any_of] = lists;
    ok.then(|| Condition {
        all_of,
        any_of,
        operator: raw.operator.unwrap_or(Operator::And),
    })
}

fn last(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

fn execution_leaf(
    c: &mut Checker,
    p: &str,
    raw: &raw::ExecutionLeaf,
    me: &SelfId,
) -> Option<model::ExecutionLeaf> {
    let mut ok = values::pipeline_name(c, &format!("{p}/name"), &raw.name);
    if let Some(a) = &raw.account {
        ok &= values::account(c, &format!("{p}/account"), a);
    }
    if let Some(r) = &raw.region {
        ok &= values::region(c, &format!("{p}/region"), r);
    }
    let statuses = statuses(c, &format!("{p}/status"), raw.status.as_ref());
    let same = |mine: Option<&str>, theirs: &Option<String>| {
        theirs.as_deref().is_none_or(|t| Some(t) == mine)
    };
    if me.name == Some(raw.name.as_str())
        && same(me.account, &raw.account)
        && same(me.region, &raw.region)
    {
        c.emit(
            &codes::TRIGGER_SELF_DEPENDENCY,
            &format!("{p}/name"),
            Target::Value,
            format!("pipeline `{}` depends on itself", raw.name),
            Some("a pipeline cannot wait for its own runs; depend on its upstreams instead".into()),
        );
        ok = false;
    }
    let statuses = statuses?;
    ok.then(|| model::ExecutionLeaf {
        name: raw.name.clone(),
        account: raw.account.clone(),
        region: raw.region.clone(),
        statuses,
    })
}

/// Canonical statuses, sorted; `[SUCCEEDED]` when absent.
fn statuses(c: &mut Checker, pointer: &str, raw: Option<&StatusList>) -> Option<Vec<Status>> {
    let names: Vec<(String, String)> = match raw {
        None => return Some(vec![Status::Succeeded]),
        Some(StatusList::One(s)) => vec![(pointer.to_string(), s.clone())],
        Some(StatusList::Many(list)) => list
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("{pointer}/{i}"), s.clone()))
            .collect(),
    };
    if names.is_empty() {
        c.emit(
            &codes::TRIGGER_EMPTY_BLOCK,
            pointer,
            Target::Key,
            "`status` is empty",
            Some("list at least one status, or remove the key for the default [SUCCEEDED]".into()),
        );
        return None;
    }
    let mut out = BTreeSet::new();
    let mut ok = true;
    for (ptr, name) in names {
        match Status::parse(&name) {
            Some(s) => {
                out.insert(s);
            }
            None => {
                let aliases = Status::ALIASES.iter().map(|(a, _)| *a);
                let help = match did_you_mean(&name, aliases) {
                    Some(s) => format!("did you mean `{s}`? Statuses: SUCCEEDED, FAILED, TIMED_OUT, ABORTED, RUNNING"),
                    None => "statuses: SUCCEEDED, FAILED, TIMED_OUT, ABORTED, RUNNING (and aliases such as SUCCESS, ERROR, TIMEOUT, STOPPED)".to_string(),
                };
                c.emit(
                    &codes::TRIGGER_UNKNOWN_STATUS,
                    &ptr,
                    Target::Value,
                    format!("unknown status `{name}`"),
                    Some(help),
                );
                ok = false;
            }
        }
    }
    ok.then(|| out.into_iter().collect())
}

/// Merges repeated upstreams: in allOf the statuses intersect (empty is a contradiction), in
/// anyOf they unite.
fn merge_executions(
    c: &mut Checker,
    list_ptr: &str,
    all_of: bool,
    leaves: &[(String, model::ExecutionLeaf)],
) -> Option<Vec<model::ExecutionLeaf>> {
    let mut out: Vec<(String, model::ExecutionLeaf)> = Vec::new();
    let mut ok = true;
    for (ptr, leaf) in leaves {
        let key = |l: &model::ExecutionLeaf| (l.name.clone(), l.account.clone(), l.region.clone());
        let Some((first_ptr, kept)) = out.iter_mut().find(|(_, k)| key(k) == key(leaf)) else {
            if all_of && leaf.statuses.contains(&Status::Running) && leaves.len() > 1 {
                c.emit(&codes::TRIGGER_RUNNING_IN_ALL_OF, &format!("{ptr}/status"), Target::Value,
                    format!("`{}` RUNNING inside allOf holds only while it runs, rarely together with the other leaves", leaf.name),
                    Some("use anyOf for RUNNING, or wait for a final status".into()));
            }
            out.push((ptr.clone(), leaf.clone()));
            continue;
        };
        let merged: Vec<Status> = if all_of {
            kept.statuses
                .iter()
                .filter(|s| leaf.statuses.contains(s))
                .copied()
                .collect()
        } else {
            kept.statuses
                .iter()
                .chain(&leaf.statuses)
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        if merged.is_empty() {
            let span = c.span(&format!("{first_ptr}/name"), Target::Value);
            let file = c.file.clone();
            c.emit(&codes::TRIGGER_CONTRADICTION, &format!("{ptr}/name"), Target::Value,
                format!("`{}` appears twice in allOf with statuses that cannot both hold", leaf.name),
                Some("the latest run has one status; use anyOf for alternatives, or a separate fallback pipeline".into()));
            if let Some(d) = c.diags.last_mut() {
                *d = d
                    .clone()
                    .label(&file, span, Some("first listed here".into()));
            }
            ok = false;
            continue;
        }
        c.emit(
            &codes::TRIGGER_DUPLICATE_UPSTREAM,
            &format!("{ptr}/name"),
            Target::Value,
            format!(
                "`{}` appears twice in {}; merged into one leaf with [{}]",
                leaf.name,
                last(list_ptr),
                merged
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some("list each upstream once".into()),
        );
        kept.statuses = merged;
    }
    ok.then(|| out.into_iter().map(|(_, l)| l).collect())
}

fn data_product_leaf(
    c: &mut Checker,
    p: &str,
    raw: &raw::DataProductLeaf,
) -> Option<model::DataProductLeaf> {
    let mut ok = values::data_product_part(c, &format!("{p}/domain"), &raw.domain, "domain");
    ok &= values::data_product_part(c, &format!("{p}/name"), &raw.name, "name");
    if let Some(a) = &raw.account {
        ok &= values::account(c, &format!("{p}/account"), a);
    }
    ok.then(|| model::DataProductLeaf {
        domain: raw.domain.clone(),
        name: raw.name.clone(),
        account: raw.account.clone(),
    })
}

fn merge_data_products(
    c: &mut Checker,
    list_ptr: &str,
    _all_of: bool,
    leaves: &[(String, model::DataProductLeaf)],
) -> Option<Vec<model::DataProductLeaf>> {
    let mut out: Vec<model::DataProductLeaf> = Vec::new();
    for (ptr, leaf) in leaves {
        if out.contains(leaf) {
            c.emit(
                &codes::TRIGGER_DUPLICATE_UPSTREAM,
                &format!("{ptr}/name"),
                Target::Value,
                format!(
                    "data product `{}/{}` appears twice in {}",
                    leaf.domain,
                    leaf.name,
                    last(list_ptr)
                ),
                Some("list each data product once".into()),
            );
        } else {
            out.push(leaf.clone());
        }
    }
    Some(out)
}

fn window(c: &mut Checker, raw: Option<&raw::Window>, has_deps: bool) -> Option<model::Window> {
    let raw = raw?;
    if !has_deps {
        c.emit(
            &codes::WINDOW_UNUSED,
            "/trigger/window",
            Target::Key,
            "`window` has no effect without executions or dataProducts",
            Some("remove it, or add the dependencies it should apply to".into()),
        );
    }
    match (&raw.within, &raw.reset_at) {
        (Some(_), Some(_)) => {
            c.emit(&codes::WINDOW_CONFLICT, "/trigger/window/resetAt", Target::Key, "`within` and `resetAt` cannot be combined",
                Some("keep one: `within` ages results out, `resetAt` discards progress at fixed times".into()));
            None
        }
        (Some(within), None) => {
            values::duration(c, "/trigger/window/within", within, 60, 90 * 86_400)
                .map(model::Window::Within)
        }
        (None, Some(reset)) => {
            let cron = schedule::cron_at(c, "/trigger/window/resetAt/cron", &reset.cron);
            let tz_ok = reset.timezone.as_ref().is_none_or(|tz| {
                values::timezone(c, "/trigger/window/resetAt/timezone", tz).is_some()
            });
            let cron = cron?;
            tz_ok.then(|| model::Window::ResetAt {
                cron,
                timezone: reset.timezone.clone(),
            })
        }
        (None, None) => {
            c.emit(
                &codes::TRIGGER_EMPTY_BLOCK,
                "/trigger/window",
                Target::Key,
                "`window` is empty",
                Some("set `within: 24h` or `resetAt: {cron: ...}`, or remove it".into()),
            );
            None
        }
    }
}
