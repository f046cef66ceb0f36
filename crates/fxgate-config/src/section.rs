//! The shape every protocol's configuration section has (after Vector's `SourceConfig`):
//! it declares what it adds to the gateway (sources, tags, servers), claims the resources
//! it uses (lines, listen ports) and validates itself. The generic checks in
//! [`crate::checks`] then see every section alike and never name a protocol.

use std::collections::HashSet;
use std::path::Path;

use crate::error::Invalid;
use crate::line::{LineConfig, LineMode};
use crate::model::UserConfig;

/// One protocol's part of the configuration file, e.g. every `[[device]]` table.
pub trait Section {
    /// Adds the sources, tags and servers this section makes to `known`. `key` is the
    /// section's top-level key (`device`), for field paths like `device[2].name`.
    fn declare(&self, _key: &str, _known: &mut Known) {}

    /// Adds the resources (lines, listen ports) this section uses to `claims`.
    fn claims(&self, _key: &str, _claims: &mut Claims) {}

    /// Adds every problem of this section to `cx`.
    fn validate(&self, key: &str, cx: &mut Check<'_>);
}

/// A source: a folder of tags under `Objects` (a device of any protocol, an upstream server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSource {
    /// Its name (the folder name).
    pub name: String,
    /// The field that names it, e.g. `device[0].name`.
    pub field: String,
}

/// What the sections declare, filled once before any section is validated: the registries
/// of source names, tag paths and OPC UA servers other sections may refer to.
#[derive(Debug, Default)]
pub struct Known {
    sources: Vec<DeclaredSource>,
    tags: HashSet<String>,
    servers: HashSet<String>,
}

impl Known {
    /// Declares a source named `name` at `field`.
    pub fn source(&mut self, name: &str, field: String) {
        self.sources.push(DeclaredSource { name: name.to_string(), field });
    }

    /// Makes room for `n` more tags (a section declaring many at once).
    pub fn reserve_tags(&mut self, n: usize) {
        self.tags.reserve(n);
    }

    /// Declares the tag `<source>/<tag>`.
    pub fn tag(&mut self, path: String) {
        self.tags.insert(path);
    }

    /// Declares an OPC UA server the gateway holds a session with (an upstream), by name.
    pub fn server(&mut self, name: &str) {
        self.servers.insert(name.to_string());
    }

    /// Every declared source, in file order of the sections.
    pub fn sources(&self) -> &[DeclaredSource] {
        &self.sources
    }

    /// Whether a source is named `name`.
    pub fn has_source(&self, name: &str) -> bool {
        self.sources.iter().any(|s| s.name == name)
    }

    /// Whether the tag `<source>/<tag>` exists.
    pub fn has_tag(&self, path: &str) -> bool {
        self.tags.contains(path)
    }

    /// Every declared tag path.
    pub fn tags(&self) -> &HashSet<String> {
        &self.tags
    }

    /// The names of the OPC UA servers (upstreams).
    pub fn servers(&self) -> &HashSet<String> {
        &self.servers
    }
}

/// A resource a component uses, which two protocols must not share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A `[[line]]`, by name.
    Line(String),
    /// A TCP port listened on: host as configured (normalized), port.
    Listen(String, u16),
    /// A UDP port bound (not a multicast group, which several receivers share): host as
    /// configured (normalized), port.
    Udp(String, u16),
}

/// A claim of one resource by one section.
#[derive(Debug, Clone)]
pub struct Claim {
    /// What is claimed.
    pub resource: Resource,
    /// Who claims it: the protocol or part of the gateway (`OPC UA server`, a protocol's client or server).
    pub owner: String,
    /// The field that claims it.
    pub field: String,
    /// Whether it is claimed for this one use alone (a server on a line), or may be shared
    /// with other claims of the same owner (several devices on one client line).
    pub exclusive: bool,
}

/// The claims of every section.
#[derive(Debug, Default)]
pub struct Claims {
    list: Vec<Claim>,
}

impl Claims {
    /// `owner` uses `resource`, claimed at `field`; other claims of the same owner may share it.
    pub fn shared(&mut self, resource: Resource, owner: &str, field: String) {
        self.list.push(Claim { resource, owner: owner.to_string(), field, exclusive: false });
    }

    /// `owner` uses `resource` alone, claimed at `field`.
    pub fn exclusive(&mut self, resource: Resource, owner: &str, field: String) {
        self.list.push(Claim { resource, owner: owner.to_string(), field, exclusive: true });
    }

    /// Every claim, in file order of the sections.
    pub fn all(&self) -> &[Claim] {
        &self.list
    }

    /// Who claims `line`, if anybody.
    pub fn line_owner(&self, line: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|c| c.resource == Resource::Line(line.to_string()))
            .map(|c| c.owner.as_str())
    }
}

/// What a section's validation sees, and where it reports problems.
pub struct Check<'a> {
    /// Resolves relative file paths (the config file's directory).
    pub config_dir: &'a Path,
    /// The sources, tags and servers every section declared.
    pub known: &'a Known,
    /// The configured lines.
    pub lines: &'a [LineConfig],
    /// The configured users.
    pub users: &'a [UserConfig],
    errs: &'a mut Vec<Invalid>,
}

impl<'a> Check<'a> {
    /// A check context reporting into `errs`.
    pub fn new(
        config_dir: &'a Path,
        known: &'a Known,
        lines: &'a [LineConfig],
        users: &'a [UserConfig],
        errs: &'a mut Vec<Invalid>,
    ) -> Self {
        Self { config_dir, known, lines, users, errs }
    }

    /// Reports a problem with `field`.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errs.push(Invalid::new(field, message));
    }

    /// The problems found so far (for helpers that take a `Vec<Invalid>`).
    pub fn errs(&mut self) -> &mut Vec<Invalid> {
        self.errs
    }

    /// The mode of the line named `name`, if there is one.
    pub fn line_mode(&self, name: &str) -> Option<LineMode> {
        self.lines.iter().find(|l| l.name == name).map(|l| l.mode)
    }

    /// Reports at `field` a line `name` that does not exist or is not in `mode`; `what`
    /// names the section entry for the message (`an MQTT client`).
    pub fn line_in_mode(&mut self, field: String, name: &str, mode: LineMode, what: &str) {
        let (have, want) = match mode {
            LineMode::Client => ("a server line", "a client line"),
            LineMode::Server => ("a client line", "mode = \"server\""),
        };
        match self.line_mode(name) {
            None => self.push(field, format!("no [[line]] named `{name}`")),
            Some(m) if m != mode => self.push(field, format!("line `{name}` is {have}; {what} needs {want}")),
            Some(_) => {}
        }
    }
}
