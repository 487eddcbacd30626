//! Terraform's `try` and `can`. hcl-rs evaluates a function's arguments before calling it, so an
//! argument's error would end the evaluation before `try` could catch it. Calls to `try`/`can`
//! are therefore resolved before the expression is evaluated: each argument is evaluated on its
//! own, and the call is replaced by the first value that evaluates (`try`) or by whether its
//! argument evaluates (`can`). A `for` expression holding such a call is evaluated here too,
//! element by element, so the call sees the iteration's variables. Inside a string template
//! (`"${try(…)}"`) they are refused with a clear error: compute the value in a local first.

use hcl::eval::{Context, Evaluate, FuncArgs};
use hcl::expr::{Expression, ForExpr, Operation, TemplateExpr, TraversalOperator};
use hcl::{Value, value::Map};

/// The names resolved here (declared as functions too, for when every argument fails and the
/// evaluator reports the first argument's own error).
pub const NAMES: &[&str] = &["can", "try"];

/// Declares `try` and `can` for what is left after [`resolve`]: reached only when arguments
/// evaluate, so `try` returns its first and `can` is true.
pub fn declare(ctx: &mut Context) {
    use hcl::eval::ParamType::Any;
    ctx.declare_func(
        "try",
        super::functions::def(vec![], Some(Any), |a: FuncArgs| Ok(a.first().cloned().unwrap_or(Value::Null))),
    );
    ctx.declare_func("can", super::functions::def(vec![Any], None, |_| Ok(Value::Bool(true))));
}

/// Whether `expr` calls `try` or `can` anywhere (read on the parsed form, before conversion: the
/// common case, no such call, costs one walk and no copy).
pub fn mentions(expr: &hcl::edit::expr::Expression) -> bool {
    use hcl::edit::visit::{Visit, visit_func_call};
    struct Finder(bool);
    impl Visit for Finder {
        fn visit_func_call(&mut self, node: &hcl::edit::expr::FuncCall) {
            self.0 |= node.name.namespace.is_empty() && NAMES.contains(&node.name.name.as_str());
            visit_func_call(self, node);
        }
    }
    let mut f = Finder(false);
    f.visit_expr(expr);
    f.0
}

/// Replaces every `try`/`can` call in `expr` by its value under `ctx`.
pub fn resolve(expr: &mut Expression, ctx: &Context) -> Result<(), String> {
    match expr {
        Expression::FuncCall(f) if f.name.namespace.is_empty() && NAMES.contains(&f.name.name.as_str()) => {
            for arg in &mut f.args {
                resolve(arg, ctx)?;
            }
            let can = f.name.name.as_str() == "can";
            if can && f.args.len() != 1 {
                return Err("can() takes exactly one argument".into());
            }
            if f.args.is_empty() {
                return Err("try() needs at least one argument".into());
            }
            if can {
                *expr = Expression::Bool(f.args[0].evaluate(ctx).is_ok());
            } else if let Some(v) = f.args.iter().find_map(|a| a.evaluate(ctx).ok()) {
                *expr = Expression::from(v);
            }
            // Else left as written: evaluated, it reports the first argument's error where
            // (and only if) it is reached.
            Ok(())
        }
        Expression::ForExpr(f) if mentions_in_for(f) => {
            let value = evaluate_for(f, ctx)?;
            *expr = Expression::from(value);
            Ok(())
        }
        Expression::TemplateExpr(t) if template_mentions(t) => Err(
            "try() and can() inside a string template are not supported: compute the value in a local and interpolate the local"
                .into(),
        ),
        other => {
            let mut result = Ok(());
            children_mut(other, &mut |child| {
                if result.is_ok() {
                    result = resolve(child, ctx);
                }
            });
            result
        }
    }
}

fn mentions_in_for(f: &ForExpr) -> bool {
    let mut found = false;
    for e in [Some(&f.value_expr), f.key_expr.as_ref(), f.cond_expr.as_ref()].into_iter().flatten() {
        found |= calls(e);
    }
    found
}

/// [`mentions`] on the evaluator's form (for the parts of a `for` expression): walked on one
/// copy, since the walk over sub-expressions is the one `resolve` uses (mutable).
fn calls(expr: &Expression) -> bool {
    fn walk(expr: &mut Expression) -> bool {
        match expr {
            Expression::FuncCall(f) if f.name.namespace.is_empty() && NAMES.contains(&f.name.name.as_str()) => true,
            Expression::TemplateExpr(t) => template_mentions(t),
            other => {
                let mut found = false;
                children_mut(other, &mut |c| found = found || walk(c));
                found
            }
        }
    }
    walk(&mut expr.clone())
}

fn template_mentions(t: &TemplateExpr) -> bool {
    let text = match t {
        TemplateExpr::QuotedString(s) => s.as_str(),
        TemplateExpr::Heredoc(h) => h.template.as_str(),
    };
    text.contains("try(") || text.contains("can(")
}

/// A `for` expression, element by element, with `try`/`can` resolved in each element's context.
fn evaluate_for(f: &ForExpr, ctx: &Context) -> Result<Value, String> {
    let mut collection = f.collection_expr.clone();
    resolve(&mut collection, ctx)?;
    let items: Vec<(Value, Value)> = match collection.evaluate(ctx).map_err(|e| e.to_string())? {
        Value::Array(a) => a.into_iter().enumerate().map(|(i, v)| (Value::from(i as u64), v)).collect(),
        Value::Object(o) => o.into_iter().map(|(k, v)| (Value::from(k), v)).collect(),
        other => return Err(format!("a `for` expression needs a list or a map, got {other}")),
    };
    let mut list = Vec::new();
    let mut object: Map<String, Value> = Map::new();
    for (key, value) in items {
        let mut element = ctx.clone();
        if let Some(k) = &f.key_var {
            element.declare_var(k.clone(), key);
        }
        element.declare_var(f.value_var.clone(), value);
        let eval = |e: &Expression| -> Result<Value, String> {
            let mut e = e.clone();
            resolve(&mut e, &element)?;
            e.evaluate(&element).map_err(|err| err.to_string())
        };
        if let Some(cond) = &f.cond_expr
            && eval(cond)? != Value::Bool(true)
        {
            continue;
        }
        let v = eval(&f.value_expr)?;
        match &f.key_expr {
            None => list.push(v),
            Some(k) => {
                let k = match eval(k)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                if f.grouping {
                    let group = object.entry(k).or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(g) = group {
                        g.push(v);
                    }
                } else if object.insert(k.clone(), v).is_some() {
                    return Err(format!("the key \"{k}\" appears twice in a `for` expression's result"));
                }
            }
        }
    }
    Ok(if f.key_expr.is_some() { Value::Object(object) } else { Value::Array(list) })
}

/// Calls `f` on each direct sub-expression of `expr`.
fn children_mut(expr: &mut Expression, f: &mut dyn FnMut(&mut Expression)) {
    match expr {
        Expression::Array(items) => items.iter_mut().for_each(f),
        Expression::Object(o) => {
            // Keys are left to the evaluator: a computed key holding a try is not resolved.
            o.iter_mut().for_each(|(_, v)| f(v));
        }
        Expression::Traversal(t) => {
            f(&mut t.expr);
            for op in &mut t.operators {
                if let TraversalOperator::Index(i) = op {
                    f(i);
                }
            }
        }
        Expression::FuncCall(c) => c.args.iter_mut().for_each(f),
        Expression::Parenthesis(p) => f(p),
        Expression::Conditional(c) => {
            f(&mut c.cond_expr);
            f(&mut c.true_expr);
            f(&mut c.false_expr);
        }
        Expression::Operation(op) => match op.as_mut() {
            Operation::Unary(u) => f(&mut u.expr),
            Operation::Binary(b) => {
                f(&mut b.lhs_expr);
                f(&mut b.rhs_expr);
            }
        },
        Expression::ForExpr(fe) => {
            f(&mut fe.collection_expr);
            f(&mut fe.value_expr);
            if let Some(k) = fe.key_expr.as_mut() {
                f(k);
            }
            if let Some(c) = fe.cond_expr.as_mut() {
                f(c);
            }
        }
        _ => {}
    }
}
