//! Resource addresses — `module.m["eu"].cluster.analytics.jobmanager[0]` — written and read
//! here only: [`Address`] parses one (once) into its steps, and displays it back byte for byte.
//! Everything that asks what an address is part of (its cluster, its role, the block it
//! belongs to, whether `--target` selects it) asks the parsed form.

use std::fmt;

/// An instance key: `[0]` (count) or `["eu"]` (for_each).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Index(u64),
    Name(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Index(i) => write!(f, "[{i}]"),
            Key::Name(k) => write!(f, "[{k:?}]"),
        }
    }
}

/// One `kind.name[key]` step: a module call, or a resource block.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step {
    /// `module`, `cluster`, `container`, `job`, `network` or `volume`.
    pub kind: String,
    pub name: String,
    pub key: Option<Key>,
}

/// A part of a cluster: `network`, `volume["data"]`, `zookeeper[0]`, `jobmanager[1]`, `taskmanager[2]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Part {
    pub role: String,
    pub key: Option<Key>,
}

/// A parsed address: module steps, then the resource's step, then (in a cluster) its part.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub steps: Vec<Step>,
    pub part: Option<Part>,
}

/// The block kinds that make a resource step.
/// (`secret`: a swarm secret no service mounts, as the plan names it for its removal.)
pub const RESOURCE_KINDS: &[&str] = &["cluster", "container", "job", "network", "secret", "volume"];

impl Address {
    pub fn parse(text: &str) -> Result<Address, String> {
        let bad =
            |why: &str| format!("\"{text}\" is not a resource address ({why}), e.g. cluster.analytics.jobmanager[0]");
        let mut words = Words { rest: text };
        let mut steps = Vec::new();
        let mut part = None;
        while !words.rest.is_empty() {
            let kind = words.ident().ok_or_else(|| bad("expected a block kind"))?;
            let in_cluster = steps.last().is_some_and(|s: &Step| s.kind == "cluster");
            // Nothing nests in a cluster but its parts.
            if in_cluster {
                part = Some(Part { role: kind, key: words.key().map_err(|e| bad(&e))? });
                if !words.rest.is_empty() {
                    return Err(bad("nothing may follow a cluster's part"));
                }
                break;
            }
            if kind != "module" && !RESOURCE_KINDS.contains(&kind.as_str()) {
                return Err(bad(&format!("unknown block kind `{kind}`")));
            }
            words.dot().map_err(|e| bad(&e))?;
            let name = words.ident().ok_or_else(|| bad("expected a name"))?;
            let key = words.key().map_err(|e| bad(&e))?;
            steps.push(Step { kind, name, key });
            if !words.rest.is_empty() {
                words.dot().map_err(|e| bad(&e))?;
            }
        }
        if steps.is_empty() {
            return Err(bad("it is empty"));
        }
        Ok(Address { steps, part })
    }

    /// The resource's own step (the last one), when the address names a resource.
    pub fn resource(&self) -> Option<&Step> {
        self.steps.last().filter(|s| s.kind != "module")
    }

    /// The cluster a part belongs to (`cluster.a` for `cluster.a.jobmanager[0]`).
    pub fn cluster(&self) -> Option<Address> {
        let last = self.steps.last()?;
        (self.part.is_some() && last.kind == "cluster").then(|| Address { steps: self.steps.clone(), part: None })
    }

    /// The part's role, for a cluster part (`jobmanager`).
    pub fn role(&self) -> Option<&str> {
        self.part.as_ref().map(|p| p.role.as_str())
    }

    /// The block instance it belongs to: the address without its part.
    pub fn block(&self) -> Address {
        Address { steps: self.steps.clone(), part: None }
    }

    /// Does `self`, given as a target, select `other`? An address selects itself, what is
    /// nested under it, and — without a key — every instance of its block.
    pub fn selects(&self, other: &Address) -> bool {
        if self.steps.len() > other.steps.len() {
            return false;
        }
        let n = self.steps.len();
        let steps_match = self.steps.iter().zip(&other.steps).enumerate().all(|(i, (a, b))| {
            a.kind == b.kind && a.name == b.name && (a.key == b.key || (i == n - 1 && a.key.is_none()))
        });
        steps_match
            && match &self.part {
                None => true,
                Some(p) => {
                    other.steps.len() == n
                        && other.part.as_ref().is_some_and(|q| p.role == q.role && (p.key.is_none() || p.key == q.key))
                }
            }
    }
}

/// A cluster part's address, from the cluster's (`cluster.a` + `jobmanager`, 0 → `cluster.a.jobmanager[0]`).
pub fn part_of(cluster: &str, role: &str, key: Option<Key>) -> String {
    match key {
        Some(k) => format!("{cluster}.{role}{k}"),
        None => format!("{cluster}.{role}"),
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{}.{}", s.kind, s.name)?;
            if let Some(k) = &s.key {
                write!(f, "{k}")?;
            }
        }
        if let Some(p) = &self.part {
            write!(f, ".{}", p.role)?;
            if let Some(k) = &p.key {
                write!(f, "{k}")?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Address {
    type Err = String;
    fn from_str(s: &str) -> Result<Address, String> {
        Address::parse(s)
    }
}

/// A cursor over an address's text.
struct Words<'a> {
    rest: &'a str,
}

impl Words<'_> {
    fn ident(&mut self) -> Option<String> {
        let end = self.rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(self.rest.len());
        (end > 0).then(|| {
            let (word, rest) = self.rest.split_at(end);
            self.rest = rest;
            word.to_string()
        })
    }

    fn dot(&mut self) -> Result<(), String> {
        self.rest = self.rest.strip_prefix('.').ok_or("expected `.`")?;
        Ok(())
    }

    /// `[0]` or `["name"]` (with `\"` and `\\` escapes), if one follows.
    fn key(&mut self) -> Result<Option<Key>, String> {
        let Some(inner) = self.rest.strip_prefix('[') else { return Ok(None) };
        if let Some(quoted) = inner.strip_prefix('"') {
            let mut name = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => name.push(chars.next().map(|(_, c)| c).ok_or("an unfinished escape")?),
                    '"' => {
                        self.rest = quoted[i + 1..].strip_prefix(']').ok_or("expected `]` after a key")?;
                        return Ok(Some(Key::Name(name)));
                    }
                    c => name.push(c),
                }
            }
            return Err("an unterminated key".into());
        }
        let end = inner.find(']').ok_or("expected `]`")?;
        let index = inner[..end].parse().map_err(|_| format!("`{}` is not an index", &inner[..end]))?;
        self.rest = &inner[end + 1..];
        Ok(Some(Key::Index(index)))
    }
}

/// Whether `address` is, or is inside, the block, module or role at `prefix`
/// (`cluster.a.taskmanager[1]` under `cluster.a.taskmanager`; a prefix ending in `.` is a module).
pub fn under(address: &str, prefix: &str) -> bool {
    if prefix.ends_with('.') {
        return address.starts_with(prefix);
    }
    address == prefix || address.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_display_back_byte_for_byte() {
        for text in [
            "cluster.analytics.jobmanager[0]",
            "cluster.a.network",
            "cluster.a.volume[\"data\"]",
            "module.m[\"eu\"].cluster.x[0].taskmanager[12]",
            "container.probe[1]",
            "volume.scratch[\"a.b \\\"c\\\"\"]",
            "job.counter",
            "module.outer.module.inner.network.n",
        ] {
            assert_eq!(Address::parse(text).unwrap().to_string(), text);
        }
        for bad in ["", "cluster", "cluster.", "widget.x", "cluster.a.jobmanager[x]", "cluster.a.jobmanager[0].x"] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_address_knows_its_cluster_role_and_block() {
        let a = Address::parse("module.m.cluster.x[1].jobmanager[0]").unwrap();
        assert_eq!(a.cluster().unwrap().to_string(), "module.m.cluster.x[1]");
        assert_eq!(a.role(), Some("jobmanager"));
        assert_eq!(a.block().to_string(), "module.m.cluster.x[1]");
        assert!(Address::parse("container.c[0]").unwrap().cluster().is_none());
        assert_eq!(part_of("cluster.a", "jobmanager", Some(Key::Index(0))), "cluster.a.jobmanager[0]");
    }

    #[test]
    fn targets_select_what_is_nested_and_every_instance_without_a_key() {
        let sel = |t: &str, a: &str| Address::parse(t).unwrap().selects(&Address::parse(a).unwrap());
        assert!(sel("cluster.a", "cluster.a.taskmanager[1]"));
        assert!(sel("container.c", "container.c[3]"));
        assert!(!sel("container.c[1]", "container.c[3]"));
        assert!(sel("module.m", "module.m[\"eu\"].cluster.x.network"));
        assert!(!sel("cluster.a", "cluster.ab.network"));
        assert!(sel("cluster.a.taskmanager", "cluster.a.taskmanager[2]"));
        assert!(!sel("cluster.a.taskmanager[0]", "cluster.a.taskmanager[2]"));
    }
}
