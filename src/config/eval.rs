//! Expression evaluation: which blocks an expression refers to (before evaluating it), the
//! evaluation context (`var`, `local`, `cluster`), and evaluation of one attribute with its span
//! attached to any error. hcl-rs evaluation errors carry no span, so attributes are evaluated one
//! by one and the error is placed at the attribute's value.

use super::diag::{ConfigError, Loc, Sources};
use super::raw::RawAttr;
use hcl::Value;
use hcl::edit::Span;
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::visit::{self, Visit};
use hcl::eval::{Context, Evaluate};

/// A reference such as `var.slots`, `local.x` or `cluster.analytics.rest_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `var`, `local` or `cluster`.
    pub namespace: String,
    pub name: String,
    /// The attribute after the name, when present (`rest_url` in `cluster.a.rest_url`).
    pub attribute: Option<String>,
    pub range: std::ops::Range<usize>,
}

/// The namespaces flinkform resolves; any other root (a `for` variable) is left alone.
pub const NAMESPACES: &[&str] =
    &["var", "local", "cluster", "container", "network", "volume", "job", "module", "count", "each", "path"];

struct Collector(Vec<Reference>);

impl Visit for Collector {
    fn visit_traversal(&mut self, node: &hcl::edit::expr::Traversal) {
        if let Expression::Variable(root) = &node.expr
            && NAMESPACES.contains(&root.as_str())
            && let Some(first) = node.operators.first()
            && let TraversalOperator::GetAttr(name) = first.value()
        {
            let attribute = match node.operators.get(1).map(|o| o.value()) {
                Some(TraversalOperator::GetAttr(a)) => Some(a.as_str().to_string()),
                _ => None,
            };
            self.0.push(Reference {
                namespace: root.as_str().to_string(),
                name: name.as_str().to_string(),
                attribute,
                range: node.span().unwrap_or(0..0),
            });
        }
        visit::visit_traversal(self, node);
    }

    // hcl-edit's default walk skips the collection of a `%{ for … in COLLECTION }` directive.
    fn visit_for_template_expr(&mut self, node: &hcl::edit::template::ForTemplateExpr) {
        self.visit_expr(&node.collection_expr);
        visit::visit_for_template_expr(self, node);
    }
}

/// Every `var.*`, `local.*` and `cluster.*` reference in an expression.
pub fn references(expr: &Expression) -> Vec<Reference> {
    let mut c = Collector(Vec::new());
    c.visit_expr(expr);
    c.0
}

/// Whether an expression refers to a sensitive name (`var.x`, `local.y` or `module.m.out`).
pub fn is_sensitive(expr: &Expression, sensitive: &std::collections::BTreeSet<String>) -> bool {
    !sensitive.is_empty()
        && references(expr).iter().any(|r| {
            let base = format!("{}.{}", r.namespace, r.name);
            sensitive.contains(&base)
                || r.attribute.as_ref().is_some_and(|a| sensitive.contains(&format!("{base}.{a}")))
        })
}

/// A context with the built-in functions and the given namespaces declared.
pub fn context(namespaces: &[(&str, Value)]) -> Context<'static> {
    let mut ctx = Context::new();
    super::functions::declare(&mut ctx);
    super::stdlib::declare(&mut ctx);
    super::attempt::declare(&mut ctx);
    super::library::declare(&mut ctx);
    for (name, value) in namespaces {
        ctx.declare_var(*name, value.clone());
    }
    ctx
}

/// Evaluates one attribute; an error is placed at the attribute's value.
pub fn eval_attr(ctx: &Context, attr: &RawAttr, sources: &Sources) -> Result<Value, ConfigError> {
    eval_expr(ctx, &attr.expr, &attr.value_loc, sources)
}

pub fn eval_expr(ctx: &Context, expr: &Expression, loc: &Loc, sources: &Sources) -> Result<Value, ConfigError> {
    let mentions_attempt = super::attempt::mentions(expr);
    let mut expr: hcl::Expression = expr.clone().into();
    if mentions_attempt && let Err(msg) = super::attempt::resolve(&mut expr, ctx) {
        let mut err = sources.error(
            loc,
            format!("cannot evaluate this expression: {msg}"),
            "evaluation failed here",
            Some("check the try()/can() calls here".into()),
        );
        err.secondary = true;
        return Err(err);
    }
    expr.evaluate(ctx).map_err(|e| {
        let msg = e.kind().to_string();
        let mut err = sources.error(
            loc,
            format!("cannot evaluate this expression: {msg}"),
            "evaluation failed here",
            Some(hint_for(&msg)),
        );
        err.secondary = true;
        err
    })
}

fn hint_for(msg: &str) -> String {
    if msg.contains("undefined var") {
        "declare it, or check the spelling".into()
    } else if msg.contains("undefined func") {
        let mut names: Vec<&str> = super::functions::NAMES
            .iter()
            .chain(super::stdlib::NAMES)
            .chain(super::attempt::NAMES)
            .chain(super::library::NAMES)
            .copied()
            .collect();
        names.sort_unstable();
        format!("available functions: {}", names.join(", "))
    } else {
        "check the types of the values used here".into()
    }
}

pub use super::functions::describe;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_but_not_for_variables() {
        let body = hcl::edit::parser::parse_body("a = [for s in var.list : s.x if local.on]\nb = cluster.c.rest_url\n")
            .unwrap();
        let refs: Vec<String> = body
            .attributes()
            .flat_map(|a| references(&a.value))
            .map(|r| format!("{}.{}.{:?}", r.namespace, r.name, r.attribute))
            .collect();
        assert_eq!(refs, vec!["var.list.None", "local.on.None", "cluster.c.Some(\"rest_url\")"]);
    }
}
