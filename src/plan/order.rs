//! The order tables load in when a job copies many: parents before the tables whose
//! foreign keys reference them, in levels (the tables of one level reference none of
//! each other, so they may load at once). A cycle of foreign keys is broken at its
//! nullable keys (their rows load first with the key filled in afterwards, or with the
//! key added after the data); a cycle with no nullable key is loaded as one level and
//! named, since only keys added after the data can load it. Self-references never
//! order anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::relations::ForeignKey;

/// Tables in load order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadOrder {
    /// Tables by level: every table's parents are in earlier levels (sorted by name
    /// within a level).
    pub levels: Vec<Vec<String>>,
    /// Nullable foreign keys left out of the order to break a cycle: (table, key).
    pub deferred: Vec<(String, String)>,
    /// Tables in a cycle of NOT NULL foreign keys, loaded together.
    pub cycles: Vec<Vec<String>>,
}

/// The load order of `tables` given the database's foreign keys (keys to tables outside
/// `tables` are left out: those parents are not copied).
pub fn load_order(tables: &[String], keys: &[ForeignKey]) -> LoadOrder {
    let index: BTreeMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    // (child, parent, key) for the keys between two different copied tables.
    let edges: Vec<(usize, usize, &ForeignKey)> = keys
        .iter()
        .filter(|k| !k.is_self_reference())
        .filter_map(|k| {
            Some((
                *index.get(k.table.as_str())?,
                *index.get(k.parent.as_str())?,
                k,
            ))
        })
        .collect();
    // Nullable keys inside a cycle are deferred; what still cycles loads together.
    let first = components(tables.len(), edges.iter().map(|e| (e.0, e.1)));
    type Edge<'a> = (usize, usize, &'a ForeignKey);
    let (deferred, kept): (Vec<Edge>, Vec<Edge>) = edges
        .iter()
        .partition(|(c, p, k)| k.nullable && first[*c] == first[*p]);
    let group = components(tables.len(), kept.iter().map(|e| (e.0, e.1)));
    // Each group's parents (other groups), then its level: one past its parents'.
    let groups = group.iter().copied().max().map_or(0, |m| m + 1);
    let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); groups];
    for (c, p, _) in &kept {
        if group[*c] != group[*p] {
            parents[group[*c]].insert(group[*p]);
        }
    }
    let mut level: Vec<Option<usize>> = vec![None; groups];
    for g in 0..groups {
        level_of(g, &parents, &mut level);
    }
    let mut order = LoadOrder::default();
    let mut members: Vec<Vec<String>> = vec![Vec::new(); groups];
    for (i, t) in tables.iter().enumerate() {
        members[group[i]].push(t.clone());
    }
    for (g, mut names) in members.into_iter().enumerate() {
        names.sort();
        if names.len() > 1 {
            order.cycles.push(names.clone());
        }
        let l = level[g].unwrap_or(0);
        if order.levels.len() <= l {
            order.levels.resize(l + 1, Vec::new());
        }
        order.levels[l].extend(names);
    }
    for l in &mut order.levels {
        l.sort();
    }
    order.cycles.sort();
    order.deferred = deferred
        .iter()
        .map(|(_, _, k)| (k.table.clone(), k.name.clone()))
        .collect();
    order
}

/// A group's level: 0 without parents, else one past its highest parent's (the graph
/// of groups has no cycle).
fn level_of(g: usize, parents: &[BTreeSet<usize>], level: &mut [Option<usize>]) -> usize {
    if let Some(l) = level[g] {
        return l;
    }
    let l = parents[g]
        .iter()
        .map(|p| level_of(*p, parents, level) + 1)
        .max()
        .unwrap_or(0);
    level[g] = Some(l);
    l
}

/// The strongly connected component of each of `n` nodes (Tarjan's algorithm): nodes
/// that reach each other through `edges` share a number.
fn components(n: usize, edges: impl Iterator<Item = (usize, usize)>) -> Vec<usize> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (a, b) in edges {
        next[a].push(b);
    }
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        component: Vec<usize>,
        counter: usize,
        found: usize,
    }
    fn visit(v: usize, next: &[Vec<usize>], s: &mut State) {
        s.index[v] = Some(s.counter);
        s.low[v] = s.counter;
        s.counter += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &next[v] {
            match s.index[w] {
                None => {
                    visit(w, next, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(i) if s.on_stack[w] => s.low[v] = s.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                s.component[w] = s.found;
                if w == v {
                    break;
                }
            }
            s.found += 1;
        }
    }
    let mut s = State {
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        component: vec![0; n],
        counter: 0,
        found: 0,
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(v, &next, &mut s);
        }
    }
    s.component
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fk(table: &str, parent: &str, nullable: bool) -> ForeignKey {
        ForeignKey {
            name: format!("{table}_{parent}"),
            table: table.into(),
            columns: vec![format!("{parent}_id")],
            parent: parent.into(),
            parent_database: "d".into(),
            parent_columns: vec!["id".into()],
            nullable,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parents_load_first_in_levels() {
        let tables = names(&["order_items", "orders", "customers", "products", "notes"]);
        let keys = vec![
            fk("orders", "customers", false),
            fk("order_items", "orders", false),
            fk("order_items", "products", false),
            fk("customers", "customers", true),
            fk("orders", "archive", false),
        ];
        let order = load_order(&tables, &keys);
        assert_eq!(
            order.levels,
            vec![
                names(&["customers", "notes", "products"]),
                names(&["orders"]),
                names(&["order_items"]),
            ]
        );
        assert!(order.deferred.is_empty() && order.cycles.is_empty());
    }

    #[test]
    fn a_cycle_breaks_at_its_nullable_key() {
        let tables = names(&["employees", "departments", "projects"]);
        let keys = vec![
            fk("employees", "departments", false),
            fk("departments", "employees", true),
            fk("projects", "departments", false),
        ];
        let order = load_order(&tables, &keys);
        assert_eq!(
            order.levels,
            vec![names(&["departments"]), names(&["employees", "projects"])]
        );
        assert_eq!(
            order.deferred,
            vec![(
                "departments".to_string(),
                "departments_employees".to_string()
            )]
        );
    }

    #[test]
    fn a_cycle_of_not_null_keys_is_one_level_and_named_and_its_children_follow() {
        let tables = names(&["a", "b", "c"]);
        let keys = vec![
            fk("a", "b", false),
            fk("b", "a", false),
            fk("c", "a", false),
        ];
        let order = load_order(&tables, &keys);
        assert_eq!(order.levels, vec![names(&["a", "b"]), names(&["c"])]);
        assert_eq!(order.cycles, vec![names(&["a", "b"])]);
    }
}
