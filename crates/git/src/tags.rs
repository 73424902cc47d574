//! The one view of a repository's release tags that every command reads.
//!
//! Git is the source of truth for what was released. [`ReleaseTags`] holds every tag whose
//! name fits the tag template (lightweight and annotated alike, peeled to their commits),
//! and knows which of them are reachable from one commit — the line's release branch,
//! `HEAD`, or a `--target`. Versions are read from the reachable tags only; tag *names* are
//! global, so the never-reuse and never-go-backwards checks look at all of them.
//!
//! [`detect_shape`] finds how a repository spells its release tags when nobody said so
//! (`v1.2.3`, `1.2.3`, `release-1.2.3`, `pkg@1.2.3`).

use std::collections::{HashMap, HashSet};

use semver::Version;

use crate::{CommitId, GitError, ReleaseTag, Repo, Tag, TagTemplate};

/// Release tags of one template, and which are reachable from one commit.
#[derive(Debug, Clone)]
pub struct ReleaseTags {
    template: TagTemplate,
    /// Every tag that fits the template, ascending by version (then name).
    all: Vec<ReleaseTag>,
    /// Parallel to `all`: reachable from `from`.
    reachable: Vec<bool>,
    from: Option<CommitId>,
}

impl ReleaseTags {
    /// The view with nothing in it (a repository without commits, or no git at all).
    pub fn empty(template: TagTemplate) -> ReleaseTags {
        ReleaseTags {
            template,
            all: Vec::new(),
            reachable: Vec::new(),
            from: None,
        }
    }

    /// The view of `tags` (as [`Repo::tags`] lists them) that fit `template`, with
    /// `reachable` the commits among theirs that `from` contains.
    pub fn new(
        template: TagTemplate,
        tags: &[Tag],
        reachable: &HashSet<CommitId>,
        from: CommitId,
    ) -> ReleaseTags {
        let mut all: Vec<ReleaseTag> = tags
            .iter()
            .filter_map(|tag| {
                Some(ReleaseTag {
                    version: template.parse_version(&tag.name)?,
                    name: tag.name.clone(),
                    commit: tag.commit.clone(),
                })
            })
            .collect();
        all.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
        let reachable = all.iter().map(|t| reachable.contains(&t.commit)).collect();
        ReleaseTags {
            template,
            all,
            reachable,
            from: Some(from),
        }
    }

    /// The template the tags were matched with.
    pub fn template(&self) -> &TagTemplate {
        &self.template
    }

    /// The commit reachability was computed from.
    pub fn from(&self) -> Option<&CommitId> {
        self.from.as_ref()
    }

    /// Every release tag in the repository, reachable or not, ascending by version.
    pub fn all(&self) -> &[ReleaseTag] {
        &self.all
    }

    /// The release tags reachable from [`ReleaseTags::from`], ascending by version.
    pub fn reachable(&self) -> impl DoubleEndedIterator<Item = &ReleaseTag> + '_ {
        self.all
            .iter()
            .zip(&self.reachable)
            .filter_map(|(t, r)| r.then_some(t))
    }

    /// Release tags that exist but are not reachable (tags of other branches), ascending.
    pub fn unreachable(&self) -> impl DoubleEndedIterator<Item = &ReleaseTag> + '_ {
        self.all
            .iter()
            .zip(&self.reachable)
            .filter_map(|(t, r)| (!r).then_some(t))
    }

    /// The highest reachable release, pre-releases included.
    pub fn current(&self) -> Option<&ReleaseTag> {
        self.reachable().next_back()
    }

    /// The highest reachable stable release (no pre-release part), optionally only on the
    /// `(major, minor)` line.
    pub fn latest_stable(&self, line: Option<(u64, u64)>) -> Option<&ReleaseTag> {
        self.reachable()
            .rfind(|t| t.version.pre.is_empty() && on_line(&t.version, line))
    }

    /// The highest stable release of a `(major, minor)` line wherever it is tagged: a
    /// line's tags are that line's releases whether or not a branch holds them.
    pub fn latest_on_line(&self, major: u64, minor: u64) -> Option<&ReleaseTag> {
        self.all
            .iter()
            .rfind(|t| t.version.pre.is_empty() && on_line(&t.version, Some((major, minor))))
    }

    /// The highest stable release strictly below `version`, on any line, wherever tagged.
    pub fn stable_below(&self, version: &Version) -> Option<&ReleaseTag> {
        self.all
            .iter()
            .rfind(|t| t.version.pre.is_empty() && t.version < *version)
    }

    /// The tag of exactly this version, if one exists (anywhere).
    pub fn find(&self, version: &Version) -> Option<&ReleaseTag> {
        self.all.iter().find(|t| t.version == *version)
    }

    /// Every version that has a tag, anywhere.
    pub fn versions(&self) -> Vec<Version> {
        self.all.iter().map(|t| t.version.clone()).collect()
    }
}

fn on_line(v: &Version, line: Option<(u64, u64)>) -> bool {
    line.is_none_or(|(major, minor)| v.major == major && v.minor == minor)
}

impl Repo {
    /// The release tags of `template`, and which of them `from` contains.
    pub fn release_tags_from(
        &self,
        template: &TagTemplate,
        from: &CommitId,
    ) -> Result<ReleaseTags, GitError> {
        let tags: Vec<Tag> = self
            .tags()?
            .into_iter()
            .filter(|t| template.parse_version(&t.name).is_some())
            .collect();
        let commits: Vec<CommitId> = tags.iter().map(|t| t.commit.clone()).collect();
        let found = self.reachable_among(from, &commits)?;
        Ok(ReleaseTags::new(
            template.clone(),
            &tags,
            &found,
            from.clone(),
        ))
    }

    /// Which of `candidates` are `from` or its ancestors: one walk ([`Repo::reach`]) that
    /// goes no further than the answers need — with a commit-graph file, a candidate out
    /// of reach is ruled out by generation numbers without reading the history.
    pub fn reachable_among(
        &self,
        from: &CommitId,
        candidates: &[CommitId],
    ) -> Result<HashSet<CommitId>, GitError> {
        let mut found = HashSet::new();
        if candidates.is_empty() {
            return Ok(found);
        }
        let mut reach = self.reach(from)?;
        for c in candidates {
            if !found.contains(c) && reach.contains(c)? {
                found.insert(c.clone());
            }
        }
        Ok(found)
    }

    /// True if `ancestor` is `of` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &CommitId, of: &CommitId) -> Result<bool, GitError> {
        Ok(!self
            .reachable_among(of, std::slice::from_ref(ancestor))?
            .is_empty())
    }
}

/// How a set of tag names spells versions: the template (`v{version}`, `{version}`,
/// `release-{version}`, `pkg@{version}`, ...) that matches the most of them, and how many
/// it matches. Ties go to the shorter prefix. `None` when no name holds a SemVer version.
pub fn detect_shape<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<(TagTemplate, usize)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for name in names {
        if let Some(prefix) = version_prefix(name) {
            *counts.entry(prefix).or_default() += 1;
        }
    }
    let (prefix, n) = counts.into_iter().max_by(|a, b| {
        a.1.cmp(&b.1)
            .then_with(|| b.0.len().cmp(&a.0.len()))
            .then_with(|| b.0.cmp(a.0))
    })?;
    let template = TagTemplate::parse(&format!("{prefix}{{version}}")).ok()?;
    Some((template, n))
}

/// The literal text before the version in a tag name: the first place a digit starts a
/// complete SemVer version that runs to the end of the name.
fn version_prefix(name: &str) -> Option<&str> {
    name.char_indices()
        .filter(|(i, c)| {
            c.is_ascii_digit() && (*i == 0 || !name.as_bytes()[i - 1].is_ascii_digit())
        })
        .map(|(i, _)| i)
        .find(|&i| Version::parse(&name[i..]).is_ok())
        .map(|i| &name[..i])
        .filter(|p| !p.contains(['{', '}']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(version_prefix("v1.2.3"), Some("v"));
        assert_eq!(version_prefix("1.2.3"), Some(""));
        assert_eq!(version_prefix("release-1.2.3-rc.1"), Some("release-"));
        assert_eq!(version_prefix("@scope/pkg@10.0.1"), Some("@scope/pkg@"));
        assert_eq!(version_prefix("v1.2"), None);
        assert_eq!(version_prefix("nightly"), None);
        assert_eq!(version_prefix("v2-1.0.0"), Some("v2-"));
        let (t, n) = detect_shape(["1.0.0", "1.1.0", "v0.1.0", "latest"]).unwrap();
        assert_eq!((t.as_str(), n), ("{version}", 2));
        let (t, n) = detect_shape(["1.0.0", "v1.0.0"]).unwrap();
        assert_eq!(
            (t.as_str(), n),
            ("{version}", 1),
            "a tie goes to the shorter prefix"
        );
        assert!(detect_shape(["latest", "stable"]).is_none());
    }
}
