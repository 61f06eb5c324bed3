//! Start order from dependencies (`requires`): dependencies first, stop in reverse; a cycle is an error that names
//! the cycle.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Orders `items` so that every item comes after everything it requires. Ties keep the input order. On a cycle,
/// returns the cycle as a path that starts and ends with the same item (`a -> b -> a`).
pub fn start_order<T: Clone + Eq + Hash>(items: &[T], requires: impl Fn(&T) -> Vec<T>) -> Result<Vec<T>, Vec<T>> {
    let position: HashMap<&T, usize> = items.iter().enumerate().map(|(i, t)| (t, i)).collect();
    let mut out = Vec::with_capacity(items.len());
    let mut done: HashSet<T> = HashSet::new();
    let mut path: Vec<T> = Vec::new();
    for item in items {
        visit(item, &requires, &position, &mut done, &mut path, &mut out)?;
    }
    Ok(out)
}

fn visit<T: Clone + Eq + Hash>(
    item: &T,
    requires: &impl Fn(&T) -> Vec<T>,
    position: &HashMap<&T, usize>,
    done: &mut HashSet<T>,
    path: &mut Vec<T>,
    out: &mut Vec<T>,
) -> Result<(), Vec<T>> {
    if done.contains(item) {
        return Ok(());
    }
    if let Some(i) = path.iter().position(|p| p == item) {
        let mut cycle = path[i..].to_vec();
        cycle.push(item.clone());
        return Err(cycle);
    }
    path.push(item.clone());
    let mut deps = requires(item);
    deps.sort_by_key(|d| position.get(d).copied().unwrap_or(usize::MAX));
    for d in &deps {
        visit(d, requires, position, done, path, out)?;
    }
    path.pop();
    done.insert(item.clone());
    out.push(item.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(pairs: &'static [(&'static str, &'static [&'static str])]) -> impl Fn(&&'static str) -> Vec<&'static str> {
        move |x| pairs.iter().find(|(k, _)| k == x).map(|(_, v)| v.to_vec()).unwrap_or_default()
    }

    #[test]
    fn dependencies_come_first() {
        let order = start_order(&["web", "db", "cache"], deps(&[("web", &["cache", "db"]), ("cache", &["db"])]));
        assert_eq!(order, Ok(vec!["db", "cache", "web"]));
    }

    #[test]
    fn independent_items_keep_their_order() {
        assert_eq!(start_order(&["c", "a", "b"], deps(&[])), Ok(vec!["c", "a", "b"]));
    }

    #[test]
    fn cycles_are_named() {
        let e = start_order(&["a", "b", "c"], deps(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]));
        assert_eq!(e, Err(vec!["a", "b", "c", "a"]));
        let e = start_order(&["a"], deps(&[("a", &["a"])]));
        assert_eq!(e, Err(vec!["a", "a"]));
    }

    #[test]
    fn dependencies_outside_the_list_are_included() {
        assert_eq!(start_order(&["web"], deps(&[("web", &["db"])])), Ok(vec!["db", "web"]));
    }
}
