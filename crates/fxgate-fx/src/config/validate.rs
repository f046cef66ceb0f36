//! Checks of `[fx]`.

use std::collections::HashSet;

use fxgate_config::Invalid;
use super::{parse_fx_version, AutomationComponentConfig, FxConfig};
use fxgate_config::Known;

/// Adds every problem of the FX model to `errs`.
pub(super) fn validate(fx: &FxConfig, known: &Known, errs: &mut Vec<Invalid>) {
    let tags = known.tags();
    let mut names = HashSet::new();
    for (i, ac) in fx.automation_component.iter().enumerate() {
        let f = |k: &str| format!("fx.automation_component[{i}].{k}");
        name(&ac.name, &f("name"), &mut names, "an AutomationComponent", errs);
        for (j, s) in ac.sources.iter().enumerate() {
            if !known.has_source(s) {
                errs.push(Invalid::new(
                    f(&format!("sources[{j}]")),
                    format!("no source (device or upstream, a folder under Objects) is named `{s}`"),
                ));
            }
        }
        if ac.max_connections != 0 && ac.max_connections_per_call > ac.max_connections {
            errs.push(Invalid::new(
                f("max_connections_per_call"),
                format!("{} is more than max_connections ({})", ac.max_connections_per_call, ac.max_connections),
            ));
        }
        component(ac, &f, tags, errs);
    }
    if let Some(cm) = &fx.connection_manager {
        let known = super::validate_cm::Known { acs: &fx.automation_component, tags, upstreams: known.servers() };
        super::validate_cm::validate(cm, &known, errs);
    }
}

/// The Assets and FunctionalEntities of one component.
fn component(ac: &AutomationComponentConfig, f: &dyn Fn(&str) -> String, tags: &HashSet<String>, errs: &mut Vec<Invalid>) {
    let mut assets = HashSet::new();
    for (j, a) in ac.asset.iter().enumerate() {
        let g = |k: &str| f(&format!("asset[{j}].{k}"));
        name(&a.name, &g("name"), &mut assets, "an Asset", errs);
        if a.serial_number.trim().is_empty() && a.product_instance_uri.trim().is_empty() {
            errs.push(Invalid::new(
                g("serial_number"),
                "a top-level Asset needs serial_number or product_instance_uri (OPC 10000-81 §6.3)",
            ));
        }
    }
    let mut fes = HashSet::new();
    for (j, fe) in ac.functional_entity.iter().enumerate() {
        let g = |k: &str| f(&format!("functional_entity[{j}].{k}"));
        name(&fe.name, &g("name"), &mut fes, "a FunctionalEntity", errs);
        if !fe.author_assigned_version.is_empty() {
            if let Err(e) = parse_fx_version(&fe.author_assigned_version) {
                errs.push(Invalid::new(g("author_assigned_version"), e));
            }
        }
        for (k, h) in fe.hosted_by.iter().enumerate() {
            if !ac.asset.iter().any(|a| &a.name == h) {
                errs.push(Invalid::new(
                    g(&format!("hosted_by[{k}]")),
                    format!("this component has no asset named `{h}`"),
                ));
            }
        }
        let mut used = HashSet::new();
        for (field, list) in [("inputs", &fe.inputs), ("outputs", &fe.outputs), ("configuration", &fe.configuration)] {
            for (k, t) in list.iter().enumerate() {
                let at = g(&format!("{field}[{k}]"));
                if !tags.contains(t) {
                    errs.push(Invalid::new(at, format!("no tag `{t}` (give a tag path like Demo/Setpoint)")));
                } else if !used.insert(t.as_str()) {
                    errs.push(Invalid::new(at, format!("tag `{t}` is listed twice in this entity")));
                }
            }
        }
        let mut groups = HashSet::new();
        for (k, cg) in fe.control_group.iter().enumerate() {
            let h = |x: &str| g(&format!("control_group[{k}].{x}"));
            name(&cg.name, &h("name"), &mut groups, "a ControlGroup", errs);
            if !(1_000..=86_400_000).contains(&cg.max_inactive_lock_time_ms) {
                errs.push(Invalid::new(h("max_inactive_lock_time_ms"), "must be 1,000 to 86,400,000 (ms)"));
            }
            let mut in_group = HashSet::new();
            for (field, list) in [("block", &cg.block), ("restrict", &cg.restrict), ("related", &cg.related)] {
                for (m, t) in list.iter().enumerate() {
                    let at = h(&format!("{field}[{m}]"));
                    if !used.contains(t.as_str()) {
                        errs.push(Invalid::new(at, format!("`{t}` is none of this entity's inputs, outputs or configuration")));
                    } else if !in_group.insert(t.as_str()) {
                        errs.push(Invalid::new(at, format!("`{t}` is in more than one list of this ControlGroup")));
                    }
                }
            }
        }
    }
}

/// A BrowseName: not empty, no `/`, unique (exact case) among `seen`.
pub(crate) fn name<'a>(n: &'a str, at: &str, seen: &mut HashSet<&'a str>, what: &str, errs: &mut Vec<Invalid>) {
    if let Err(e) = fxgate_config::checks::check_name(n) {
        errs.push(Invalid::new(at, e.to_string()));
    } else if !seen.insert(n) {
        errs.push(Invalid::new(at, format!("{what} named `{n}` exists already")));
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_fx_version;

    #[test]
    fn versions() {
        assert_eq!(parse_fx_version("1.2"), Ok([1, 2, 0, 0]));
        assert_eq!(parse_fx_version("1.2.3.4"), Ok([1, 2, 3, 4]));
        assert!(parse_fx_version("1.2.3.4.5").is_err());
        assert!(parse_fx_version("1.x").is_err());
        assert!(parse_fx_version("70000").is_err());
        assert!(parse_fx_version("").is_err());
    }
}
