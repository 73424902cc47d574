//! Commit mode: a Keep a Changelog document and the next version, read from any
//! repository's Conventional Commits and SemVer tags, with no process file and no
//! database. This is how a team adopts Sluice on an existing history.
//!
//! What belongs to which release (invariants, the same on every path):
//! - The release tags are those whose names fit the tag template, whose version is a
//!   stable or pre-release SemVer version, and whose commit `HEAD` contains; tags of other
//!   branches are ignored (see [`release_tags`], which also detects the tag shape).
//! - When several release tags point at one commit, the highest version owns it (the
//!   others are aliases, e.g. the last `-rc` promoted to the final on the same commit,
//!   and get no section).
//! - Every commit belongs to the oldest release (lowest version) whose tag contains it:
//!   release `T(i)` holds the commits reachable from its tag and from no lower release's
//!   tag (`git log T(i) ^T(0) … ^T(i-1)`), so a fix released on a maintenance line and
//!   merged forward is listed once, under the release that shipped it first. On a line
//!   of releases this is `git log T(i-1)..T(i)`; the first release holds all its history.
//!   Unreleased holds the commits reachable from `HEAD` and from no release tag.
//! - Within a section, entries are newest first (commit time order of the walk).
//! - A release is dated with its tag commit's committer time, as a UTC date.
//! - Messages that are not Conventional Commits are skipped and counted; conventional
//!   commits whose type has no changelog section (`docs`, `chore`, ...) are left out.
//!   Merge commits count like any other: a conventional merge title is an entry, a
//!   `Merge branch ...` message is skipped.
//!
//! How it is computed: one walk from `HEAD` reads every commit once and keeps, per commit,
//! only its parents, its time and what its message gives a changelog
//! ([`Repo::history`]); the tags `HEAD` contains are those that walk met. Sections are
//! then drawn from that graph in memory: the releases in version order, each taking the
//! commits no older release took, then `HEAD` for Unreleased
//! ([`sluice_git::HistoryGraph::partition`]) — nothing is read twice, whatever the number
//! of tags or merges.
//!
//! [`version`] reads much less: it asks, highest version first, whether `HEAD` holds each
//! tag, walking back only as far as the answers need ([`Repo::reach`]), then reads the
//! commits since the highest stable release it holds.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use jiff::civil::Date;
use semver::Version;
use serde::Serialize;
use sluice_core::changelog::{self, Group, Section};
use sluice_core::commits;
use sluice_core::process::Bump;
use sluice_git::{CommitId, GitError, Reach, ReleaseTag, Repo, TagTemplate};

/// The default tag template when neither the caller nor a process file names one.
pub const DEFAULT_TAG_TEMPLATE: &str = "v{version}";

/// The first version of a repository without release tags.
pub const FIRST_VERSION: Version = Version::new(0, 1, 0);

/// How commit mode fails. Every variant is a usage or repository problem (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CommitModeError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("no release tags match `{template}`{}; tag a release (e.g. `git tag {example}`) or pass --tag-template", hint_suffix(.tags))]
    NoReleases {
        template: String,
        example: String,
        tags: usize,
    },
    #[error(
        "no release tag matching `{template}` is reachable from HEAD ({count} are on other branches, the highest {highest}); merge the release into this branch or check out the branch that holds it"
    )]
    NotOnThisBranch {
        template: String,
        count: usize,
        highest: String,
    },
}

fn hint_suffix(tags: &usize) -> String {
    if *tags == 0 {
        " (the repository has no tags)".to_owned()
    } else {
        format!(" (the repository has {tags} other tags)")
    }
}

/// Reports walking progress: called with the number of commits read since the last call.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// Entries under their Keep a Changelog headings, plus what the commits ask of the version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notes {
    /// Non-empty groups in first-seen order (rendering puts them in the standard order).
    pub groups: Vec<GroupView>,
    /// The highest bump any conventional commit asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bump: Option<Bump>,
    /// Commits read (merges included).
    pub commits: u64,
    /// Commits whose message is not a Conventional Commit.
    pub skipped: u64,
    /// Entries of `Revert "…"` commits whose reverted commit has not been met yet in this
    /// range (the walk is newest first, so a revert comes before what it reverts).
    #[serde(skip)]
    reverts: Vec<String>,
}

/// The heading under which `Revert "…"` commits are listed.
pub const REVERTED: &str = "Reverted";

/// The subject a `git revert` message quotes: `Revert "feat: x"` → `feat: x`.
fn reverted_subject(message: &str) -> Option<&str> {
    let subject = message.lines().next()?.trim_end();
    subject
        .strip_prefix("Revert \"")?
        .strip_suffix('"')
        .filter(|inner| !inner.is_empty())
}

/// One `### Heading` and its entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    pub heading: String,
    pub entries: Vec<String>,
}

/// What one commit message gives a changelog, read once: all that is kept of each commit
/// of a history while its releases are worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not a Conventional Commit.
    Skipped,
    /// A revert of a commit the changelog never lists (`docs`, `ci`, ...).
    Unlisted,
    /// A `Revert "type: subject"` of a listed change: its entry.
    Revert(Box<str>),
    /// A Conventional Commit: its entry, what it asks of the version and its heading, if
    /// the changelog lists its type.
    Change {
        entry: Box<str>,
        bump: Option<Bump>,
        heading: Option<&'static str>,
    },
}

impl Parsed {
    /// Reads one commit message.
    pub fn of(message: &str) -> Parsed {
        if let Some(inner) = reverted_subject(message)
            && let Ok(c) = commits::parse(inner)
        {
            return match commits::section(&c) {
                None => Parsed::Unlisted,
                Some(_) => Parsed::Revert(commits::changelog_entry(&c).into()),
            };
        }
        match commits::parse(message) {
            Err(_) => Parsed::Skipped,
            Ok(c) => Parsed::Change {
                entry: commits::changelog_entry(&c).into(),
                bump: commits::bump(&c),
                heading: commits::section(&c),
            },
        }
    }
}

impl Notes {
    /// Takes one commit message into the notes. Messages come newest first.
    ///
    /// A `Revert "type: subject"` commit (as `git revert` writes it) of a change the
    /// changelog lists is listed under [`REVERTED`] and asks for a patch release; when the
    /// commit it reverts is in the same range, the two cancel out: neither is listed nor
    /// counts towards the bump. A revert of a `docs`, `ci`, ... commit is left out.
    pub fn add(&mut self, message: &str) {
        self.take(&Parsed::of(message));
    }

    /// Takes one commit, as [`Parsed::of`] read it, into the notes (see [`Notes::add`]).
    pub fn take(&mut self, parsed: &Parsed) {
        self.commits += 1;
        match parsed {
            Parsed::Skipped => self.skipped += 1,
            Parsed::Unlisted => {}
            Parsed::Revert(entry) => {
                self.bump = self.bump.max(Some(Bump::Patch));
                self.reverts.push(entry.to_string());
                self.push(REVERTED, entry.to_string());
            }
            Parsed::Change {
                entry,
                bump,
                heading,
            } => {
                if let Some(i) = self.reverts.iter().position(|e| **e == **entry) {
                    let undone = self.reverts.remove(i);
                    if let Some(g) = self.groups.iter_mut().find(|g| g.heading == REVERTED)
                        && let Some(j) = g.entries.iter().position(|e| *e == undone)
                    {
                        g.entries.remove(j);
                    }
                    self.groups.retain(|g| !g.entries.is_empty());
                    return;
                }
                self.bump = self.bump.max(*bump);
                if let Some(heading) = heading {
                    self.push(heading, entry.to_string());
                }
            }
        }
    }

    fn push(&mut self, heading: &str, entry: String) {
        match self.groups.iter_mut().find(|g| g.heading == heading) {
            Some(g) => g.entries.push(entry),
            None => self.groups.push(GroupView {
                heading: heading.to_owned(),
                entries: vec![entry],
            }),
        }
    }

    fn groups(&self) -> Vec<Group> {
        self.groups
            .iter()
            .map(|g| Group {
                heading: g.heading.clone(),
                entries: g.entries.clone(),
            })
            .collect()
    }

    /// True if no commit gave an entry.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// One release as commit mode sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseNotes {
    pub version: Version,
    pub tag: String,
    /// The tag commit's committer date (UTC); for a `--bump` section, today.
    pub date: Date,
    #[serde(flatten)]
    pub notes: Notes,
}

/// The whole history: Unreleased, then releases newest (highest version) first.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub tag_template: String,
    pub unreleased: Notes,
    pub releases: Vec<ReleaseNotes>,
    /// Release tags that point at the same commit as a higher version and so get no
    /// section (see the module documentation).
    pub aliases: Vec<String>,
}

impl History {
    /// Commits read in all.
    pub fn commits(&self) -> u64 {
        self.unreleased.commits + self.releases.iter().map(|r| r.notes.commits).sum::<u64>()
    }

    /// Commits skipped as not conventional, in all.
    pub fn skipped(&self) -> u64 {
        self.unreleased.skipped + self.releases.iter().map(|r| r.notes.skipped).sum::<u64>()
    }

    /// Replaces Unreleased by a release of `version` dated `date` (the `--bump` view);
    /// Unreleased is left empty.
    pub fn bump_unreleased(&mut self, version: Version, template: &TagTemplate, date: Date) {
        let notes = std::mem::take(&mut self.unreleased);
        self.releases.insert(
            0,
            ReleaseNotes {
                tag: template.render(&version),
                version,
                date,
                notes,
            },
        );
    }

    /// The Keep a Changelog document (see [`changelog::document`]); with
    /// `unreleased_only`, only its Unreleased section and any `--bump` section are kept.
    ///
    /// With `compare` (a URL template with `{previous_tag}` and `{tag}`, as `[changelog]
    /// compare_url`), each version heading gets a link reference definition at the end:
    /// Unreleased compares the newest release with `HEAD`, each release its predecessor
    /// with itself (a `--bump` section as it will be once tagged); the oldest release,
    /// having no predecessor, gets none.
    pub fn document(&self, unreleased_only: bool, bumped: bool, compare: Option<&str>) -> String {
        let unreleased = Section {
            version: "Unreleased".to_owned(),
            date: Date::constant(1970, 1, 1),
            groups: self.unreleased.groups(),
            yanked: false,
        };
        let keep = if unreleased_only {
            usize::from(bumped).min(self.releases.len())
        } else {
            self.releases.len()
        };
        let releases: Vec<Section> = self.releases[..keep]
            .iter()
            .map(|r| Section {
                version: r.version.to_string(),
                date: r.date,
                groups: r.notes.groups(),
                yanked: false,
            })
            .collect();
        let mut doc = changelog::document(None, Some(&unreleased), &releases);
        if let Some(t) = compare {
            let url = |previous: &str, tag: &str| {
                t.replace("{previous_tag}", previous).replace("{tag}", tag)
            };
            let shown = &self.releases[..keep];
            let mut defs = Vec::new();
            // A `--bump` section is linked as it will be once tagged.
            if let Some(newest) = self.releases.first() {
                defs.push(format!("[unreleased]: {}", url(&newest.tag, "HEAD")));
            }
            for (i, r) in shown.iter().enumerate() {
                if let Some(prev) = self.releases.get(i + 1) {
                    defs.push(format!("[{}]: {}", r.version, url(&prev.tag, &r.tag)));
                }
            }
            if !defs.is_empty() {
                if !doc.ends_with('\n') {
                    doc.push('\n');
                }
                doc.push('\n');
                doc.push_str(&defs.join("\n"));
                doc.push('\n');
            }
        }
        doc
    }
}

/// The release tags that own a section: one per commit (the highest version), ascending
/// by version; and the names of the aliases left out.
fn owning_tags(mut tags: Vec<ReleaseTag>) -> (Vec<ReleaseTag>, Vec<String>) {
    // `release_tags` sorts ascending; the last tag seen for a commit is its highest.
    let mut highest: HashMap<CommitId, usize> = HashMap::with_capacity(tags.len());
    for (i, t) in tags.iter().enumerate() {
        highest.insert(t.commit.clone(), i);
    }
    let mut aliases = Vec::new();
    let mut i = 0;
    tags.retain(|t| {
        let keep = highest[&t.commit] == i;
        i += 1;
        if !keep {
            aliases.push(t.name.clone());
        }
        keep
    });
    (tags, aliases)
}

/// The release tags commit mode reads, and a note for the user when their shape was
/// detected rather than given. Which of them count (those `HEAD` contains) is decided by
/// [`history`] and [`version`], each reading only what it needs for that.
#[derive(Debug, Clone)]
pub struct TagView {
    pub template: TagTemplate,
    /// Every tag that fits the template, on any branch, ascending by version (then name).
    pub tags: Vec<ReleaseTag>,
    /// Said once on stderr: the tag shape was detected (see [`release_tags`]).
    pub note: Option<String>,
}

/// The repository's release tags.
///
/// With no `explicit` template (no `--tag-template`, no process file), the shape is read
/// from the repository's tags: when another SemVer shape (`1.2.3`, `release-1.2.3`,
/// `pkg@1.2.3`) names more of them than the default `v{version}`, that shape is used and
/// the returned note says so.
pub fn release_tags(
    repo: &Repo,
    explicit: Option<TagTemplate>,
) -> Result<TagView, CommitModeError> {
    let all = repo.tags()?;
    let (template, note) = match explicit {
        Some(t) => (t, None),
        None => {
            let default = TagTemplate::parse(DEFAULT_TAG_TEMPLATE).map_err(CommitModeError::Git)?;
            let names = || all.iter().map(|t| t.name.as_str());
            let by_default = names()
                .filter(|n| default.parse_version(n).is_some())
                .count();
            match sluice_git::detect_shape(names()) {
                Some((shape, n)) if n > by_default && shape != default => {
                    let note = format!(
                        "note: release tags here are named like `{}` ({n} tags, {by_default} named like `{}`); using --tag-template \"{}\" (pass --tag-template to choose another)",
                        shape.render(&Version::new(1, 2, 3)),
                        default.render(&Version::new(1, 2, 3)),
                        shape.as_str()
                    );
                    (shape, Some(note))
                }
                _ => (default, None),
            }
        }
    };
    let mut tags: Vec<ReleaseTag> = all
        .into_iter()
        .filter_map(|tag| {
            Some(ReleaseTag {
                version: template.parse_version(&tag.name)?,
                name: tag.name,
                commit: tag.commit,
            })
        })
        .collect();
    tags.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
    Ok(TagView {
        template,
        tags,
        note,
    })
}

/// Reads the history of `HEAD` into sections. See the module documentation for the
/// rules; `progress` is told how many commits were read as the walk goes.
pub fn history(
    repo: &Repo,
    view: &TagView,
    progress: Progress<'_>,
) -> Result<History, CommitModeError> {
    let head = repo.resolve("HEAD")?;
    let mut ticker = Ticker::new(progress);
    let graph = repo.history(&head, |c| {
        ticker.tick();
        Parsed::of(c.message)
    })?;
    ticker.finish();
    let reachable = view
        .tags
        .iter()
        .filter(|t| graph.contains(&t.commit))
        .cloned()
        .collect();
    let (tags, aliases) = owning_tags(reachable);
    let mut tips: Vec<usize> = tags
        .iter()
        .filter_map(|t| graph.position(&t.commit))
        .collect();
    tips.push(0); // the history's own tip, HEAD: Unreleased
    let mut releases: Vec<ReleaseNotes> = tags
        .iter()
        .zip(&tips)
        .map(|(t, &at)| ReleaseNotes {
            version: t.version.clone(),
            tag: t.name.clone(),
            date: utc_date(graph.time(at)),
            notes: Notes::default(),
        })
        .collect();
    let mut unreleased = Notes::default();
    graph.partition(&tips, |i, c| {
        match releases.get_mut(i) {
            Some(r) => r.notes.take(graph.data(c)),
            None => unreleased.take(graph.data(c)),
        }
        ControlFlow::Continue(())
    });
    releases.reverse();
    Ok(History {
        tag_template: view.template.as_str().to_owned(),
        unreleased,
        releases,
        aliases,
    })
}

fn utc_date(time_secs: i64) -> Date {
    jiff::Timestamp::from_second(time_secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
}

/// How often the walk reports progress, in commits.
const PROGRESS_EVERY: u64 = 4096;

/// Counts commits read and reports them to `progress` every [`PROGRESS_EVERY`].
struct Ticker<'a> {
    progress: Progress<'a>,
    pending: u64,
}

impl<'a> Ticker<'a> {
    fn new(progress: Progress<'a>) -> Ticker<'a> {
        Ticker {
            progress,
            pending: 0,
        }
    }

    fn tick(&mut self) {
        self.pending += 1;
        if self.pending == PROGRESS_EVERY {
            (self.progress)(self.pending);
            self.pending = 0;
        }
    }

    fn finish(self) {
        (self.progress)(self.pending);
    }
}

/// The commits of `HEAD` reachable from none of the stable release tags `HEAD` contains.
///
/// gix paints the hidden frontier from every hidden tip, so hiding thousands of tags costs
/// a walk of the whole history. Usually the highest stable release (`highest`) holds every
/// other one, and hiding it alone gives the same commits; that is tried first, and the walk
/// falls back to hiding every stable release `HEAD` contains as soon as it meets another
/// stable release's commit (`others`, tags of any branch: meeting one proves `HEAD` holds
/// it) or a root commit (so the highest release was not in the way).
///
/// Reading stops early once `decided` says the notes so far settle what is shown.
fn unreleased_since(
    repo: &Repo,
    reach: &mut Reach,
    head: &CommitId,
    highest: &CommitId,
    others: &[&ReleaseTag],
    decided: impl Fn(Option<Bump>) -> bool,
) -> Result<Notes, GitError> {
    let commits: HashSet<&str> = others.iter().map(|t| t.commit.as_str()).collect();
    let mut notes = Notes::default();
    let mut alone = true;
    repo.walk_range(head, std::slice::from_ref(highest), |c| {
        if c.parents == 0 || commits.contains(c.id.as_str()) {
            alone = false;
            return ControlFlow::Break(());
        }
        notes.add(&c.message);
        if decided(notes.bump) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    if alone {
        return Ok(notes);
    }
    let mut hidden = vec![highest.clone()];
    for t in others {
        if reach.contains(&t.commit)? {
            hidden.push(t.commit.clone());
        }
    }
    let mut notes = Notes::default();
    repo.walk_range(head, &hidden, |c| {
        notes.add(&c.message);
        if decided(notes.bump) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    Ok(notes)
}

/// The version of the repository and the next one.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    /// The highest release tag's version (a pre-release if that is the highest).
    pub current: Option<Version>,
    pub current_tag: Option<String>,
    /// The highest stable version: the base of `next`.
    pub latest_stable: Option<Version>,
    /// What the unreleased commits ask for (after the 0.x rule).
    pub bump: Option<Bump>,
    /// The next version; equal to `latest_stable` when nothing asks for a release.
    pub next: Version,
    pub next_tag: String,
    /// Unreleased commits read, and those among them that were not conventional: all of
    /// them with [`Want::Everything`]; fewer (and `bump` possibly unset) when less was
    /// wanted.
    pub commits: u64,
    pub skipped: u64,
}

/// What a caller of [`version`] shows, so that it reads no more than that needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The current version alone.
    Current,
    /// The next version (and the current one).
    Next,
    /// Everything, with exact counts of the unreleased commits.
    Everything,
}

/// `base` raised by `bump`. Before 1.0.0 a breaking change raises the minor version (SemVer
/// §4: anything may change in 0.x, and 0.x users read the minor as the breaking digit).
pub fn apply_bump(base: &Version, bump: Bump) -> Version {
    match (bump, base.major) {
        (Bump::Major, 0) | (Bump::Minor, _) => Version::new(base.major, base.minor + 1, 0),
        (Bump::Major, _) => Version::new(base.major + 1, 0, 0),
        (Bump::Patch, _) => Version::new(base.major, base.minor, base.patch + 1),
    }
}

/// The current and next version of the repository at `HEAD`, from the release tags `HEAD`
/// contains (a tag of another branch, such as an unmerged pre-release, does not count):
///
/// - the base is the highest stable release tag (pre-releases are skipped); the commits
///   that count are those of `HEAD` reachable from no stable release tag, so a
///   pre-release's commits count towards the release it previews;
/// - the next version is the base raised by the highest bump those commits ask for
///   (breaking → major, but minor before 1.0.0; `feat` → minor; `fix`, `perf`, ... →
///   patch), and at least the release version of a pre-release above the base
///   (`1.0.0-rc.2` → `1.0.0`);
/// - with no release-worthy commits and no pre-release above it, the next version is the
///   base itself (the caller says so);
/// - with no stable release at all, it is 0.1.0 (or a pre-release's release version if
///   higher).
///
/// `want` says what the caller shows, so that no more is read than that needs: the
/// current version needs no commit read; the next version stops reading once a commit
/// asks for the largest bump (or reads nothing when a pre-release above the base already
/// decides it); [`Want::Everything`] reads every unreleased commit, for exact counts.
pub fn version(repo: &Repo, view: &TagView, want: Want) -> Result<VersionView, CommitModeError> {
    let template = &view.template;
    let head = repo.resolve("HEAD")?;
    // Highest version first; each asked in turn whether HEAD holds it, until the highest
    // stable release HEAD holds is found: every tag above it is then settled, and nothing
    // below it changes the answer. The walk reads only as far as that needs.
    let mut reach = repo.reach(&head)?;
    let mut held: Vec<&ReleaseTag> = Vec::new();
    let mut latest_stable: Option<&ReleaseTag> = None;
    for t in view.tags.iter().rev() {
        if reach.contains(&t.commit)? {
            held.push(t);
            if t.version.pre.is_empty() {
                latest_stable = Some(t);
                break;
            }
        }
    }
    let current = held.first().copied();
    let pre_floor = held
        .iter()
        .filter(|t| !t.version.pre.is_empty())
        .map(|t| Version::new(t.version.major, t.version.minor, t.version.patch))
        .max();
    // Whether the unreleased commits can change what is shown, and when to stop reading.
    let decided = |bump: Option<Bump>| match want {
        Want::Everything => false,
        Want::Current => true,
        Want::Next => bump == Some(Bump::Major),
    };
    let needless = match (want, latest_stable, &pre_floor) {
        (Want::Current, _, _) => true,
        (Want::Next, None, _) => true, // 0.1.0 or a pre-release's version: no bump applies
        (Want::Next, Some(base), Some(floor)) => *floor >= apply_bump(&base.version, Bump::Major),
        _ => false,
    };
    let notes = match latest_stable {
        _ if needless => Notes::default(),
        None => {
            let mut notes = Notes::default();
            repo.walk(&head, &[], |c| {
                notes.add(&c.message);
                if decided(notes.bump) {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })?;
            notes
        }
        Some(base) => {
            let others: Vec<&ReleaseTag> = view
                .tags
                .iter()
                .filter(|t| t.version.pre.is_empty() && t.version < base.version)
                .filter(|t| t.commit != base.commit)
                .collect();
            unreleased_since(repo, &mut reach, &head, &base.commit, &others, decided)?
        }
    };
    let (next, bump) = match latest_stable {
        None => (FIRST_VERSION, None),
        Some(base) => match notes.bump {
            Some(b) => (apply_bump(&base.version, b), Some(b)),
            None => (base.version.clone(), None),
        },
    };
    let next = match pre_floor {
        Some(floor) if floor > next => floor,
        _ => next,
    };
    Ok(VersionView {
        current_tag: current.map(|t| t.name.clone()),
        current: current.map(|t| t.version.clone()),
        latest_stable: latest_stable.map(|t| t.version.clone()),
        bump,
        next_tag: template.render(&next),
        next,
        commits: notes.commits,
        skipped: notes.skipped,
    })
}

/// The error for `sluice version` in a repository without release tags.
pub fn no_releases(repo: &Repo, view: &TagView) -> CommitModeError {
    let template = &view.template;
    let elsewhere = view.tags.len();
    if elsewhere > 0 {
        return CommitModeError::NotOnThisBranch {
            template: template.as_str().to_owned(),
            count: elsewhere,
            highest: view.tags.last().map(|t| t.name.clone()).unwrap_or_default(),
        };
    }
    CommitModeError::NoReleases {
        template: template.as_str().to_owned(),
        example: template.render(&FIRST_VERSION),
        tags: repo.tags().map(|t| t.len()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn bumps() {
        assert_eq!(apply_bump(&v("1.2.3"), Bump::Major), v("2.0.0"));
        assert_eq!(apply_bump(&v("1.2.3"), Bump::Minor), v("1.3.0"));
        assert_eq!(apply_bump(&v("1.2.3"), Bump::Patch), v("1.2.4"));
        assert_eq!(apply_bump(&v("0.2.3"), Bump::Major), v("0.3.0"));
        assert_eq!(apply_bump(&v("0.2.3"), Bump::Minor), v("0.3.0"));
        assert_eq!(apply_bump(&v("0.2.3"), Bump::Patch), v("0.2.4"));
    }

    #[test]
    fn notes_group_and_count() {
        let mut n = Notes::default();
        for m in [
            "feat(api): b",
            "fix: c",
            "feat: a",
            "docs: d",
            "WIP",
            "feat!: e",
        ] {
            n.add(m);
        }
        assert_eq!(n.commits, 6);
        assert_eq!(n.skipped, 1);
        assert_eq!(n.bump, Some(Bump::Major));
        let headings: Vec<_> = n.groups.iter().map(|g| g.heading.as_str()).collect();
        assert_eq!(headings, ["Added", "Fixed", "Changed"]);
        assert_eq!(n.groups[0].entries, ["**api:** b", "a"]);
    }

    /// Runs git in `dir` with a fixed identity and date, and no user configuration.
    fn git(dir: &std::path::Path, day: u32, args: &[&str]) {
        let date = format!("2024-02-{:02}T12:00:00+00:00", day % 28 + 1);
        let ok = std::process::Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args(args)
            .output()
            .expect("git must be installed");
        assert!(ok.status.success(), "git {args:?}: {ok:?}");
    }

    /// The sections as the rule states them, one `git log T(i) ^T(0) … ^T(i-1)` per release
    /// (gix's own walk with hidden tips): what the one pass must agree with.
    fn per_range(repo: &Repo, view: &TagView) -> (Notes, Vec<ReleaseNotes>) {
        let head = repo.resolve("HEAD").unwrap();
        let held: Vec<ReleaseTag> = view
            .tags
            .iter()
            .filter(|t| repo.is_ancestor(&t.commit, &head).unwrap())
            .cloned()
            .collect();
        let (tags, _) = owning_tags(held);
        let notes = |to: &CommitId, hidden: &[CommitId]| {
            let mut n = Notes::default();
            repo.walk(to, hidden, |c| {
                n.add(&c.message);
                ControlFlow::Continue(())
            })
            .unwrap();
            n
        };
        let commits: Vec<CommitId> = tags.iter().map(|t| t.commit.clone()).collect();
        let mut releases: Vec<ReleaseNotes> = tags
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut date = None;
                repo.walk(&t.commit, &[], |c| {
                    date = Some(utc_date(c.time_secs));
                    ControlFlow::Break(())
                })
                .unwrap();
                ReleaseNotes {
                    version: t.version.clone(),
                    tag: t.name.clone(),
                    date: date.unwrap(),
                    notes: notes(&t.commit, &commits[..i]),
                }
            })
            .collect();
        releases.reverse();
        (notes(&head, &commits), releases)
    }

    #[test]
    fn the_one_pass_agrees_with_one_walk_per_release_on_a_line_and_across_merges() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, 0, &["init", "-q", "-b", "main"]);
        let kinds = ["feat", "fix", "docs", "perf", "oops", "feat(x)!", "fix(y)"];
        for i in 0..20u32 {
            let msg = format!("{}: change {i}", kinds[i as usize % kinds.len()]);
            git(d, i, &["commit", "-q", "--allow-empty", "-m", &msg]);
            if i % 3 == 2 {
                git(d, i, &["tag", &format!("v0.{i}.0")]);
            }
            if i == 11 {
                git(d, i, &["tag", "v0.11.0-rc.1"]); // an alias of v0.11.0
            }
        }
        let repo = Repo::discover(d).unwrap();
        let view = release_tags(&repo, None).unwrap();
        let h = history(&repo, &view, &|_| {}).unwrap();
        assert_eq!(h.aliases, ["v0.11.0-rc.1"]);
        assert_eq!(h.releases.len(), 6);
        assert_eq!(h.unreleased.commits, 2);
        let (unreleased, releases) = per_range(&repo, &view);
        assert_eq!((&h.unreleased, &h.releases), (&unreleased, &releases));

        // A side branch from an old release merged back, and a tag on another branch.
        git(d, 21, &["checkout", "-q", "-b", "side", "v0.5.0"]);
        git(
            d,
            21,
            &["commit", "-q", "--allow-empty", "-m", "fix: on the side"],
        );
        git(d, 21, &["tag", "v0.5.1"]);
        git(
            d,
            21,
            &["commit", "-q", "--allow-empty", "-m", "feat: not merged"],
        );
        git(d, 21, &["tag", "v9.0.0"]);
        git(d, 22, &["checkout", "-q", "main"]);
        git(
            d,
            22,
            &["merge", "-q", "--no-ff", "side~1", "-m", "Merge side"],
        );
        let h = history(&repo, &view_again(&repo), &|_| {}).unwrap();
        assert!(
            h.releases.iter().all(|r| r.tag != "v9.0.0"),
            "a tag HEAD does not contain is no release"
        );
        assert_eq!(
            h.releases
                .iter()
                .find(|r| r.tag == "v0.5.1")
                .unwrap()
                .notes
                .commits,
            1,
            "the side fix, under the release that shipped it"
        );
        assert_eq!(h.unreleased.commits, 3, "two on main and the merge");
        let (unreleased, releases) = per_range(&repo, &view_again(&repo));
        assert_eq!((&h.unreleased, &h.releases), (&unreleased, &releases));
    }

    fn view_again(repo: &Repo) -> TagView {
        release_tags(repo, Some(TagTemplate::parse("v{version}").unwrap())).unwrap()
    }

    #[test]
    fn a_maintenance_fix_merged_forward_is_listed_once_under_the_release_that_shipped_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, 0, &["init", "-q", "-b", "main"]);
        git(
            d,
            1,
            &["commit", "-q", "--allow-empty", "-m", "feat: first"],
        );
        git(d, 1, &["tag", "v1.0.0"]);
        git(
            d,
            2,
            &["commit", "-q", "--allow-empty", "-m", "feat: second"],
        );
        git(d, 2, &["tag", "v1.1.0"]);
        git(d, 3, &["checkout", "-q", "-b", "maint", "v1.0.0"]);
        git(
            d,
            3,
            &["commit", "-q", "--allow-empty", "-m", "fix: on maint"],
        );
        git(d, 3, &["tag", "v1.0.1"]);
        git(d, 4, &["checkout", "-q", "main"]);
        git(
            d,
            4,
            &["merge", "-q", "--no-ff", "maint", "-m", "Merge maint"],
        );
        git(
            d,
            5,
            &["commit", "-q", "--allow-empty", "-m", "feat: third"],
        );
        git(d, 5, &["tag", "v1.2.0"]);
        git(
            d,
            6,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "Revert \"feat: third\"",
            ],
        );
        git(
            d,
            7,
            &["commit", "-q", "--allow-empty", "-m", "feat: fourth"],
        );
        git(
            d,
            8,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "Revert \"feat: fourth\"",
            ],
        );
        git(
            d,
            9,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "Revert \"ci: cache less\"",
            ],
        );
        let repo = Repo::discover(d).unwrap();
        let view = release_tags(&repo, None).unwrap();
        let h = history(&repo, &view, &|_| {}).unwrap();
        let entries = |v: &str| -> Vec<String> {
            h.releases
                .iter()
                .find(|r| r.version.to_string() == v)
                .unwrap()
                .notes
                .groups
                .iter()
                .flat_map(|g| g.entries.iter().map(|e| format!("{}: {e}", g.heading)))
                .collect()
        };
        assert_eq!(entries("1.0.1"), ["Fixed: on maint"]);
        assert_eq!(
            entries("1.2.0"),
            ["Added: third"],
            "the maint fix is not listed again"
        );
        let unreleased: Vec<_> = h
            .unreleased
            .groups
            .iter()
            .map(|g| (&g.heading, &g.entries))
            .collect();
        assert_eq!(unreleased.len(), 1, "{unreleased:?}");
        assert_eq!(unreleased[0].0, REVERTED);
        assert_eq!(
            unreleased[0].1,
            &["third"],
            "fourth and its revert cancel out"
        );
        assert_eq!(h.unreleased.bump, Some(Bump::Patch));
    }

    #[test]
    fn aliases_keep_the_highest() {
        let t = |name: &str, ver: &str, c: &str| ReleaseTag {
            name: name.into(),
            version: v(ver),
            commit: CommitId(c.into()),
        };
        let (kept, aliases) = owning_tags(vec![
            t("v1.0.0-rc.1", "1.0.0-rc.1", "a"),
            t("v1.0.0-rc.2", "1.0.0-rc.2", "b"),
            t("v1.0.0", "1.0.0", "b"),
        ]);
        let names: Vec<_> = kept.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["v1.0.0-rc.1", "v1.0.0"]);
        assert_eq!(aliases, ["v1.0.0-rc.2"]);
    }
}
