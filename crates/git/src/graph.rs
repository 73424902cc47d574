//! Whole histories read once, and reachability answered with as little reading as it needs.
//!
//! - [`Repo::history`] reads every commit reachable from one tip exactly once and keeps
//!   the graph (parents as indices, committer times) with what the caller keeps of each
//!   commit. Questions about it ([`HistoryGraph::partition`], which tags it contains) then
//!   cost no more reading.
//! - [`Repo::reach`] walks back from one commit only as far as the questions asked need:
//!   "is this commit an ancestor?" stops as soon as the commit is met, or as soon as it
//!   is proven out of reach. With a commit-graph file (`git commit-graph write`, kept by
//!   `git maintenance` and most forges) the proof comes from generation numbers and reads
//!   no commit objects; without one, a commit that is not an ancestor is only proven so by
//!   walking the whole history, as `git tag --merged` does.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;

use gix::bstr::ByteSlice;
use gix::hashtable::HashMap;
use gix::prelude::FindExt;

use crate::error::gix;
use crate::{CommitId, GitError, Repo};

/// Object cache for [`Repo::reach`] and [`Repo::walk_range`], which read a commit twice
/// (for its place in the queue when found, for its parents when expanded). Reading a
/// whole history reads each commit once and keeps no cache: it would only hold memory.
const WALK_OBJECT_CACHE: usize = 4 * 1024 * 1024;

/// Every commit reachable from one tip, each read once: its parents (as indices into the
/// history), its committer time and what the reader kept of it.
pub struct HistoryGraph<T> {
    ids: Vec<gix::ObjectId>,
    index: HashMap<gix::ObjectId, u32>,
    /// Parents of commit `i` are `parents[parent_start[i]..parent_start[i + 1]]`.
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    time: Vec<i64>,
    data: Vec<T>,
}

impl<T> HistoryGraph<T> {
    /// Number of commits.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True for the history of nothing (never: a history holds at least its tip).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The index of `id`, if the history holds it (that is, if the tip contains it).
    pub fn position(&self, id: &CommitId) -> Option<usize> {
        let id = id.to_gix().ok()?;
        self.index.get(&id).map(|&i| i as usize)
    }

    /// True if the history holds `id`.
    pub fn contains(&self, id: &CommitId) -> bool {
        self.position(id).is_some()
    }

    /// Committer time of commit `i`, seconds since the Unix epoch.
    pub fn time(&self, i: usize) -> i64 {
        self.time[i]
    }

    /// What the reader kept of commit `i`.
    pub fn data(&self, i: usize) -> &T {
        &self.data[i]
    }

    /// The id of commit `i`.
    pub fn id(&self, i: usize) -> CommitId {
        CommitId::from_gix(&self.ids[i])
    }

    fn parents_of(&self, i: usize) -> &[u32] {
        &self.parents[self.parent_start[i] as usize..self.parent_start[i + 1] as usize]
    }

    /// The commits of the history, each once, grouped by the first of `tips` (indices into
    /// the history, in the order given) that reaches it: `f(tip, commit)`. Each tip's walk
    /// stops at commits an earlier tip reached. Within one tip, commits come newest first
    /// by committer time, ties in the order they were found; nothing is read again.
    ///
    /// With the tips of releases in version order and the history's own tip last, this
    /// gives every commit to the oldest release that contains it, and the rest to the tip.
    pub fn partition<F: FnMut(usize, usize) -> ControlFlow<()>>(&self, tips: &[usize], mut f: F) {
        let mut reached = vec![false; self.len()];
        let mut queue: BinaryHeap<(i64, Reverse<u64>, u32)> = BinaryHeap::new();
        for (t, &tip) in tips.iter().enumerate() {
            if reached[tip] {
                continue;
            }
            reached[tip] = true;
            let mut order = 0u64;
            queue.push((self.time[tip], Reverse(order), tip as u32));
            while let Some((_, _, i)) = queue.pop() {
                let i = i as usize;
                for &p in self.parents_of(i) {
                    let p = p as usize;
                    if !reached[p] {
                        reached[p] = true;
                        order += 1;
                        queue.push((self.time[p], Reverse(order), p as u32));
                    }
                }
                if f(t, i).is_break() {
                    return;
                }
            }
        }
    }
}

/// One commit as [`Repo::history`] hands it to the reader: what a changelog needs.
pub struct ReadCommit<'a> {
    /// The whole message (UTF-8, invalid bytes replaced).
    pub message: &'a str,
    /// Committer time, seconds since the Unix epoch.
    pub time_secs: i64,
    /// Number of parents.
    pub parents: usize,
}

impl Repo {
    /// Every commit `tip` contains, each read once, with `keep` applied to it as it is
    /// read: the whole history in memory as a graph, holding only what `keep` returns.
    /// Commits are read newest first by committer time (which is how packs store them).
    pub fn history<T, F: FnMut(ReadCommit<'_>) -> T>(
        &self,
        tip: &CommitId,
        mut keep: F,
    ) -> Result<HistoryGraph<T>, GitError> {
        let repo = self.local()?;
        let mut h = HistoryGraph {
            ids: Vec::new(),
            index: HashMap::default(),
            parent_start: vec![0],
            parents: Vec::new(),
            time: Vec::new(),
            data: Vec::new(),
        };
        let mut buf = Vec::new();
        // Parent ids, flat in the order commits are read (`parent_start` delimits them);
        // turned into indices once every commit has one.
        let mut raw: Vec<gix::ObjectId> = Vec::new();
        let mut read = |id: gix::ObjectId,
                        h: &mut HistoryGraph<T>,
                        raw: &mut Vec<gix::ObjectId>|
         -> Result<u32, GitError> {
            let commit = repo
                .objects
                .find_commit(&id, &mut buf)
                .map_err(gix("reading a commit"))?;
            let time_secs = commit
                .committer()
                .map_err(gix("reading a commit committer"))?
                .seconds();
            let before = raw.len();
            raw.extend(commit.parents());
            let message = commit.message.to_str_lossy();
            let data = keep(ReadCommit {
                message: &message,
                time_secs,
                parents: raw.len() - before,
            });
            let i = h.ids.len() as u32;
            h.ids.push(id);
            h.index.insert(id, i);
            h.time.push(time_secs);
            h.data.push(data);
            h.parent_start.push(raw.len() as u32);
            Ok(i)
        };
        let first = read(tip.to_gix()?, &mut h, &mut raw)?;
        let mut queue: BinaryHeap<(i64, Reverse<u32>)> = BinaryHeap::new();
        queue.push((h.time[first as usize], Reverse(first)));
        let mut parents = Vec::new();
        while let Some((_, Reverse(i))) = queue.pop() {
            let i = i as usize;
            parents.clear();
            parents.extend_from_slice(
                &raw[h.parent_start[i] as usize..h.parent_start[i + 1] as usize],
            );
            for p in &parents {
                if !h.index.contains_key(p) {
                    let j = read(*p, &mut h, &mut raw)?;
                    queue.push((h.time[j as usize], Reverse(j)));
                }
            }
        }
        h.parents = raw.iter().map(|p| h.index[p]).collect();
        Ok(h)
    }

    /// A walk back from `from` that answers "does `from` contain this commit?" reading only
    /// as far as each answer needs, and remembering what it read for the next question.
    pub fn reach(&self, from: &CommitId) -> Result<Reach, GitError> {
        let mut look = Lookup::open(self)?;
        let from = look.find(from.to_gix()?)?;
        let mut reach = Reach {
            look,
            seen: gix::hashtable::HashSet::default(),
            queue: BinaryHeap::new(),
            read: 0,
        };
        reach.seen.insert(from.id);
        reach.queue.push(from);
        Ok(reach)
    }

    /// The commits `tip` contains and none of `hidden` does (`git log tip ^hidden…`), to
    /// `f`, descendants before their ancestors; `f` returns [`ControlFlow::Break`] to stop.
    ///
    /// With a commit-graph file, the walk goes by generation number, so a commit's place
    /// (hidden or not) is settled when it is reached and the walk stops as soon as only
    /// hidden commits are left: it reads about what the range holds, however old the
    /// branches merged into it. Without one (or when commits newer than the file have
    /// clocks out of order) it is [`Repo::walk`], newest first.
    pub fn walk_range<F: FnMut(crate::CommitInfo) -> ControlFlow<()>>(
        &self,
        tip: &CommitId,
        hidden: &[CommitId],
        mut f: F,
    ) -> Result<(), GitError> {
        let mut look = Lookup::open(self)?;
        if look.graph.is_none() {
            return self.walk(tip, hidden, f);
        }
        // Per commit found: hidden or not, and whether it has left the queue.
        let mut state: HashMap<gix::ObjectId, (bool, bool)> = HashMap::default();
        let mut queue: BinaryHeap<Found> = BinaryHeap::new();
        let mut interesting = 0usize; // queued and not hidden
        for h in hidden {
            let id = h.to_gix()?;
            if state.insert(id, (true, false)).is_none() {
                queue.push(look.find(id)?);
            }
        }
        let start = tip.to_gix()?;
        if !state.contains_key(&start) {
            state.insert(start, (false, false));
            queue.push(look.find(start)?);
            interesting += 1;
        }
        let mut range = Vec::new();
        while interesting > 0 {
            let Some(next) = queue.pop() else { break };
            let (hide, _) = state[&next.id];
            state.insert(next.id, (hide, true));
            if !hide {
                interesting -= 1;
                range.push(next.id);
            }
            for p in look.parents(&next)? {
                match state.get(&p.id).copied() {
                    None => {
                        state.insert(p.id, (hide, false));
                        queue.push(p);
                        interesting += usize::from(!hide);
                    }
                    Some((false, popped)) if hide => {
                        if popped {
                            // Reached as part of the range, then found hidden: only
                            // possible among commits the file lacks, with skewed clocks.
                            return self.walk(tip, hidden, f);
                        }
                        state.insert(p.id, (true, false));
                        interesting -= 1;
                    }
                    Some(_) => {}
                }
            }
        }
        let mut buf = Vec::new();
        for id in range {
            let commit = look
                .repo
                .objects
                .find_commit(&id, &mut buf)
                .map_err(gix("reading a commit"))?;
            let info = crate::read::decode(&id, &commit, commit.parents.len())?;
            if f(info).is_break() {
                break;
            }
        }
        Ok(())
    }
}

/// Reads a commit's place and parents: from the commit-graph file when it holds the
/// commit, else from the object.
struct Lookup {
    repo: gix::Repository,
    graph: Option<gix::commitgraph::Graph>,
    buf: Vec<u8>,
}

impl Lookup {
    fn open(repo: &Repo) -> Result<Lookup, GitError> {
        let mut repo = repo.local()?;
        repo.object_cache_size_if_unset(WALK_OBJECT_CACHE);
        let graph = repo
            .commit_graph_if_enabled()
            .map_err(gix("reading the commit-graph file"))?;
        Ok(Lookup {
            repo,
            graph,
            buf: Vec::new(),
        })
    }

    fn generation(&self, id: &gix::oid) -> u32 {
        self.graph
            .as_ref()
            .and_then(|g| g.commit_by_id(id))
            .map_or(u32::MAX, |c| c.generation())
    }

    /// A commit's place: from the commit-graph file (one lookup by id) or its object.
    fn find(&mut self, id: gix::ObjectId) -> Result<Found, GitError> {
        if let Some(g) = &self.graph
            && let Some(pos) = g.lookup(id)
        {
            let c = g.commit_at(pos);
            return Ok(Found {
                key: (c.generation(), c.committer_timestamp() as i64),
                id,
                pos: Some(pos.0),
            });
        }
        let commit = self
            .repo
            .objects
            .find_commit_iter(&id, &mut self.buf)
            .map_err(gix("reading a commit"))?;
        let time = commit
            .committer()
            .map_err(gix("reading a commit committer"))?
            .seconds();
        Ok(Found {
            key: (u32::MAX, time),
            id,
            pos: None,
        })
    }

    /// A found commit's parents, found in turn: straight from the commit-graph file's
    /// positions when the commit is in it (no lookup by id), else from its object.
    fn parents(&mut self, f: &Found) -> Result<Vec<Found>, GitError> {
        if let (Some(g), Some(pos)) = (&self.graph, f.pos) {
            return g
                .commit_at(gix::commitgraph::Position(pos))
                .iter_parents()
                .map(|p| {
                    let p = p.map_err(gix("reading the commit-graph file"))?;
                    let c = g.commit_at(p);
                    Ok(Found {
                        key: (c.generation(), c.committer_timestamp() as i64),
                        id: g.id_at(p).to_owned(),
                        pos: Some(p.0),
                    })
                })
                .collect();
        }
        let ids: Vec<gix::ObjectId> = self
            .repo
            .objects
            .find_commit_iter(&f.id, &mut self.buf)
            .map_err(gix("reading a commit"))?
            .parent_ids()
            .collect();
        ids.into_iter().map(|id| self.find(id)).collect()
    }
}

/// A commit found by a walk, ordered by its place in the queue (then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    key: Key,
    id: gix::ObjectId,
    /// Its position in the commit-graph file, when the file holds it.
    pos: Option<u32>,
}

/// Where a commit sorts in [`Reach`]'s queue: generation number (`u32::MAX` for commits the
/// commit-graph file does not hold, or without one), then committer time.
type Key = (u32, i64);

/// See [`Repo::reach`].
pub struct Reach {
    look: Lookup,
    /// Every commit found so far: all of them are ancestors of `from`.
    seen: gix::hashtable::HashSet<gix::ObjectId>,
    /// Found but not yet expanded to their parents, highest generation (then newest) first.
    queue: BinaryHeap<Found>,
    read: u64,
}

impl Reach {
    /// True if the commit-graph file answers for the commits it holds.
    pub fn uses_commit_graph(&self) -> bool {
        self.look.graph.is_some()
    }

    /// Commits expanded so far (each once).
    pub fn commits_read(&self) -> u64 {
        self.read
    }

    /// True if the walk's start contains `id` (is it, or one of its ancestors).
    ///
    /// Exact: a commit is only called out of reach when no commit left to expand can lead
    /// to it — every one has a lower generation number, or none is left.
    pub fn contains(&mut self, id: &CommitId) -> Result<bool, GitError> {
        let id = id.to_gix()?;
        if self.seen.contains(&id) {
            return Ok(true);
        }
        let wanted = self.look.generation(&id);
        loop {
            match self.queue.peek() {
                None => return Ok(false),
                // An ancestor has a lower generation than its descendants.
                Some(top) if top.key.0 < wanted => return Ok(false),
                Some(_) => {}
            }
            let Some(next) = self.queue.pop() else {
                return Ok(false);
            };
            self.read += 1;
            let mut found = false;
            for p in self.look.parents(&next)? {
                if self.seen.insert(p.id) {
                    found |= p.id == id;
                    self.queue.push(p);
                }
            }
            if found {
                return Ok(true);
            }
        }
    }
}
