//! Which rules apply to which machine, rebuilt from the database whenever rules or
//! machines change; the engine reads it on every sample without touching the database.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use diesel::QueryResult;
use diesel::prelude::*;

use super::rule::{Metric, Rule};
use crate::db::DbConn;
use crate::db::schema::{machines, users};

/// What the engine needs to know of a machine besides its rules.
#[derive(Debug, Clone, Copy)]
pub struct MachineFacts {
    /// Reporting interval, for the offline grace after a hub start.
    pub interval_ms: i64,
    /// Whether the machine ever reported (never-connected machines are not "down").
    pub seen: bool,
}

/// Rules by machine.
#[derive(Debug, Default)]
pub struct RuleIndex {
    pub by_machine: HashMap<i64, Vec<Arc<Rule>>>,
    pub machines: HashMap<i64, MachineFacts>,
}

impl RuleIndex {
    /// Builds the index: a rule without machine ids covers every machine its owner
    /// owns; listed machines must be visible to the owner (theirs, or any for admins).
    pub fn load(conn: &mut DbConn) -> QueryResult<Self> {
        let rows = crate::db::alert_rules::enabled(conn)?;
        if rows.is_empty() {
            // Nothing to evaluate: no need to read every machine.
            return Ok(Self::default());
        }
        let machine_rows: Vec<(i64, i64, Option<i64>, Option<i64>)> = machines::table
            .select((
                machines::id,
                machines::owner_id,
                machines::interval_ms,
                machines::last_seen,
            ))
            .load(conn)?;
        let admins: HashSet<i64> = users::table
            .filter(users::role.eq("admin"))
            .select(users::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        let owner: HashMap<i64, i64> = machine_rows.iter().map(|m| (m.0, m.1)).collect();
        let mut index = RuleIndex {
            machines: machine_rows
                .iter()
                .map(|&(id, _, interval, last_seen)| {
                    let facts = MachineFacts {
                        interval_ms: interval.unwrap_or(5_000),
                        seen: last_seen.is_some(),
                    };
                    (id, facts)
                })
                .collect(),
            ..Self::default()
        };
        for row in rows {
            let api = row.to_api();
            let Some(rule) = Rule::compile(&api) else {
                tracing::warn!(rule_id = row.id, metric = %row.metric, "rule skipped: unknown metric");
                continue;
            };
            let rule = Arc::new(rule);
            let targets: Vec<i64> = match &api.machine_ids {
                None => owner
                    .iter()
                    .filter(|(_, o)| **o == api.user_id)
                    .map(|(id, _)| *id)
                    .collect(),
                Some(ids) => ids
                    .iter()
                    .copied()
                    .filter(|id| {
                        owner
                            .get(id)
                            .is_some_and(|o| *o == api.user_id || admins.contains(&api.user_id))
                    })
                    .collect(),
            };
            for id in targets {
                index.by_machine.entry(id).or_default().push(rule.clone());
            }
        }
        Ok(index)
    }

    /// The rules of a machine.
    pub fn rules(&self, machine_id: i64) -> &[Arc<Rule>] {
        self.by_machine
            .get(&machine_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether a machine has an `offline` rule.
    pub fn watches_offline(&self, machine_id: i64) -> bool {
        self.rules(machine_id)
            .iter()
            .any(|r| r.metric == Metric::Offline)
    }
}
