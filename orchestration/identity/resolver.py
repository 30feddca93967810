"""Identity resolution on integer codes: identifiers linked by messages -> customers.

Input (:func:`resolve_codes`) is one pair of integers per (message, identifier) row: the
message number and the identifier (node) number. The caller numbers them in the order the rules
need (:func:`orchestration.identity.warehouse.resolve_in_duckdb` does it in DuckDB): messages
``0..M-1`` in processing order, (event time, ``message_id``), where a message's time is its
earliest ``event_at``; nodes ``0..N-1`` in priority order (type priority, value, type). So the
resolver never compares strings, and "earlier" and "higher priority" are "smaller number".
Output (:class:`CodedResolution`) is integers too: each node's customer and each customer's
anchor node, each node's first and last message and message count, the set-aside links, and
each node's raw component (what incremental resolution recomputes whole).

Rules
-----
* The identifiers of one message belong together; a customer is a connected component of
  identifiers linked by messages, except where merge protection sets a link aside.
* Merge protection (Segment's identity rule): a customer holds at most
  ``max_user_ids_per_customer`` distinct ``user_id`` identifiers. Messages are applied in
  event time order, ties by ``message_id``. When applying a message would make a customer
  hold too many user ids, the message's identifiers are set aside one at a time, lowest
  priority first, until the union of the customers of the remaining identifiers is allowed.
  Each set-aside identifier that is not already in the customer of the kept ones gets a
  conflict row (the conflicting identifier is the highest-priority kept identifier).
  A message whose identifier set equals an earlier message's set is a no-op and records
  no conflict (see "Algorithm" for why it can never change the state).
* Priority (highest first): ``user_id``, ``email``, ``anonymous_id``, every other type
  (:data:`~orchestration.identity.rules.TYPE_PRIORITY`). Within equal priority identifiers are
  ordered by ``identifier_value`` ascending, then by ``identifier_type`` ascending (so among
  "other" types with equal values the type name decides). "Lowest priority" is the last
  identifier in that order, so within a type the highest value is set aside first.
* Anchor of a customer: its identifier with the earliest ``first_seen_at``; ties by the
  priority order above. ``customer_id = 'c_' + sha256(f"{anchor_type}:{anchor_value}")[:20]``
  (hex; computed where the strings are, :func:`~orchestration.identity.rules.customer_id_sql`).
* Output order is canonical (rows in any order give the same result): nodes by first message,
  then priority; conflicts by message, then in the order their identifiers were set aside.

Algorithm
---------
1. Every message becomes the sorted set of its nodes (its identifiers in priority order);
   one identifier links nothing. A set equal to an earlier message's is dropped: the first
   time, S set aside its lowest-priority identifiers r1..rk and merged the rest; customers
   only grow, so S minus r1..rj (j < k) is still not allowed later while the kept ones
   already share a customer: applying S again sets aside the same and merges nothing.
2. Connected components of all distinct sets in bulk (scipy's ``connected_components`` over
   star edges). A customer lies within one component, so a component with at most
   ``max_user_ids_per_customer`` user ids can never trigger the rule: it is final.
3. Only components with more user ids are re-run, with an ordered union-find (path
   compression, union by size, user ids per root) over their sets in message order.
4. Node statistics and anchors, vectorised (``ufunc.at``, ``bincount``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass
class CodedResolution:
    """Result of :func:`resolve_codes`: integers only (node and message numbers as given)."""

    customer: np.ndarray  # customer number (0..customers-1) of each node
    anchor: np.ndarray  # anchor node of each customer
    node_first: np.ndarray  # message number of each node's first message
    node_last: np.ndarray  # message number of each node's last message
    node_messages: np.ndarray  # distinct messages carrying each node
    conflicts: np.ndarray  # rows (message, set-aside node, kept node), canonical order
    stats: dict[str, Any] = field(default_factory=dict)
    component: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # raw, per node


#: Run statistics of :func:`resolve_codes`, besides ``seconds``.
STAT_KEYS = ("nodes", "customers", "messages", "distinct_identifier_sets",
             "components_in_bulk", "components_ordered", "conflicts")


def _stats(**kw: Any) -> dict[str, Any]:
    return {**dict.fromkeys(STAT_KEYS, 0), "seconds": 0.0, **kw}


def _ranges(sizes: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s)`` for each ``s`` in ``sizes``."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    return np.arange(total, dtype=np.int64) - np.repeat(starts, sizes)


@dataclass
class _Graph:
    """The input as distinct identifier sets, plus what the node statistics need."""

    node_user: np.ndarray  # bool: the node is a user id
    msg_ev: np.ndarray  # event time (int64) of each message (ascending)
    node_first: np.ndarray  # the node's first message
    node_last: np.ndarray  # the node's last message
    node_messages: np.ndarray  # distinct messages carrying the node
    set_msg: np.ndarray  # message of each distinct multi-identifier set
    set_starts: np.ndarray  # offsets into set_nodes (len = sets + 1)
    set_nodes: np.ndarray  # nodes of each set, ascending (highest priority first)
    distinct_sets: int  # distinct identifier sets, singletons included


# --------------------------------------------------------------------------- ordered loop


def _ordered_union_find(
    flat: list[int],
    starts: list[int],
    is_user: list[int],
    max_user_ids: int,
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Apply sets in order with merge protection.

    ``flat[starts[s]:starts[s + 1]]`` are the (local) identifiers of set ``s`` in priority
    order, highest first. Returns the root of every local identifier and the conflicts as
    ``(set, set_aside_identifier, kept_identifier)``. Union-find with path compression and
    union by size; ``users[root]`` counts the user ids of the root's customer.
    """
    n = len(is_user)
    parent = list(range(n))
    size = [1] * n
    users = list(is_user)
    conflicts: list[tuple[int, int, int]] = []
    append = conflicts.append

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    lo = starts[0] if starts else 0
    for s in range(len(starts) - 1):
        hi = starts[s + 1]
        if hi - lo == 2:  # the most common set size, unrolled
            a, b = flat[lo], flat[lo + 1]
            lo = hi
            ra = a if parent[a] == a else find(a)
            rb = b if parent[b] == b else find(b)
            if ra == rb:
                continue
            if users[ra] + users[rb] > max_user_ids:  # b is set aside, a (alone) is allowed
                append((s, b, a))
                continue
            if size[ra] < size[rb]:
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size[rb]
            users[ra] += users[rb]
            continue
        ids = flat[lo:hi]
        lo = hi
        roots = [x if parent[x] == x else find(x) for x in ids]
        distinct = set(roots)
        if len(distinct) == 1:
            continue
        total = 0
        for r in distinct:
            total += users[r]
        if total > max_user_ids:
            keep = len(ids)
            while total > max_user_ids:  # keep == 1 is always allowed: it is one customer
                keep -= 1
                distinct = set(roots[:keep])
                total = 0
                for r in distinct:
                    total += users[r]
            for j in range(len(ids) - 1, keep - 1, -1):  # in the order set aside
                if roots[j] not in distinct:
                    append((s, ids[j], ids[0]))
            if len(distinct) == 1:
                continue
        big = max(distinct, key=size.__getitem__)
        for r in distinct:
            if r != big:
                parent[r] = big
                size[big] += size[r]
                users[big] += users[r]
    return [x if parent[x] == x else find(x) for x in range(n)], conflicts


# --------------------------------------------------------------------------- steps


def _link_sets(
    row_msg: np.ndarray, row_node: np.ndarray, n_nodes: int, n_msgs: int
) -> dict[str, Any]:
    """Step 1 on the rows (message, node): node statistics and distinct identifier sets;
    consumes ``row_msg`` (modified in place)."""
    # rows sorted by (message, node); duplicate (message, node) rows dropped
    key = row_msg
    key *= np.int64(n_nodes)
    key += row_node
    key.sort()
    dup = np.flatnonzero(key[1:] == key[:-1])
    if len(dup):
        key = np.delete(key, dup + 1)
    row_msg = key // n_nodes
    key -= row_msg * n_nodes
    row_node = key
    del key

    node_first = np.full(n_nodes, n_msgs, dtype=np.int64)
    np.minimum.at(node_first, row_node, row_msg)
    node_last = np.full(n_nodes, -1, dtype=np.int64)
    np.maximum.at(node_last, row_node, row_msg)
    node_messages = np.bincount(row_node, minlength=n_nodes).astype(np.int64)

    # every message is now the sorted set of its nodes: row_node[start:start + size];
    # message m is set number m (every message has at least one row)
    new_msg = np.empty(len(row_msg), dtype=bool)
    new_msg[0] = True
    np.not_equal(row_msg[1:], row_msg[:-1], out=new_msg[1:])
    del row_msg
    start = np.flatnonzero(new_msg)
    del new_msg
    size = np.diff(np.append(start, len(row_node)))

    # Singletons link nothing. A set equal to an earlier message's set can never change the
    # state (customers only grow: see the module docstring), so only the first, earliest
    # (event_at, message_id), message of each distinct set is kept.
    single = size == 1
    distinct = int(np.count_nonzero(np.bincount(row_node[start[single]], minlength=1)))
    keep = np.zeros(len(start), dtype=bool)
    for s in np.unique(size[~single]).tolist():
        idx = np.flatnonzero(size == s)
        mat = row_node[start[idx][:, None] + np.arange(s)]
        if s == 2:
            dupl = pd.Series(mat[:, 0] * np.int64(n_nodes) + mat[:, 1]).duplicated()
        else:
            dupl = pd.DataFrame(mat).duplicated()
        keep[idx[~dupl.to_numpy()]] = True
    distinct += int(np.count_nonzero(keep))
    set_msg = np.flatnonzero(keep)
    set_size = size[keep]
    set_nodes = row_node[np.repeat(start[keep], set_size) + _ranges(set_size)]
    del row_node, start, size, keep
    set_starts = np.concatenate(([0], np.cumsum(set_size)))
    return {
        "node_first": node_first,
        "node_last": node_last,
        "node_messages": node_messages,
        "set_msg": set_msg,
        "set_starts": set_starts,
        "set_nodes": set_nodes,
        "distinct_sets": distinct,
    }


def _components(g: _Graph) -> tuple[int, np.ndarray]:
    """Step 2: connected components of all sets (star edges from each set's first node)."""
    n_nodes = len(g.node_user)
    sizes = np.diff(g.set_starts)
    not_first = np.ones(len(g.set_nodes), dtype=bool)
    not_first[g.set_starts[:-1]] = False
    src = np.repeat(g.set_nodes[g.set_starts[:-1]], sizes - 1)
    dst = g.set_nodes[not_first]
    del not_first
    graph = coo_matrix(
        (np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n_nodes, n_nodes)
    ).tocsr()
    del src, dst
    n_comp, comp = connected_components(graph, directed=False)
    return int(n_comp), comp.astype(np.int64, copy=False)


def _protect(
    g: _Graph, comp: np.ndarray, n_comp: int, max_u: int
) -> tuple[np.ndarray, int, np.ndarray]:
    """Step 3: re-run the components with too many user ids in message order.

    Returns a customer label per node, the number of components re-run and the conflicts
    as rows ``(message, set-aside node, kept node)``.
    """
    comp_users = np.bincount(comp, weights=g.node_user, minlength=n_comp)
    comp_ordered = comp_users > max_u
    n_ordered = int(np.count_nonzero(comp_ordered))
    if not n_ordered:
        return comp, 0, np.zeros((0, 3), dtype=np.int64)
    label = comp.copy()
    # the nodes of those components, numbered 0..k-1 locally; ascending, so the local
    # numbers keep the priority order, as do the members of each set
    ord_nodes = np.flatnonzero(comp_ordered[comp])
    local = np.full(len(comp), -1, dtype=np.int64)
    local[ord_nodes] = np.arange(len(ord_nodes))
    sets = np.flatnonzero(comp_ordered[comp[g.set_nodes[g.set_starts[:-1]]]])  # message order
    sizes = np.diff(g.set_starts)[sets]
    members = local[g.set_nodes[np.repeat(g.set_starts[sets], sizes) + _ranges(sizes)]]
    starts = np.concatenate(([0], np.cumsum(sizes)))
    roots, local_conflicts = _ordered_union_find(
        members.tolist(), starts.tolist(), g.node_user[ord_nodes].astype(int).tolist(), max_u
    )
    label[ord_nodes] = n_comp + np.asarray(roots, dtype=np.int64)
    found = np.array(local_conflicts, dtype=np.int64).reshape(-1, 3)
    conflicts = np.column_stack(
        (g.set_msg[sets[found[:, 0]]], ord_nodes[found[:, 1]], ord_nodes[found[:, 2]])
    )
    return label, n_ordered, conflicts


def _anchors(g: _Graph, cust: np.ndarray, n_cust: int) -> np.ndarray:
    """Step 4: per customer the node with the earliest first_seen_at, then priority order."""
    n_nodes = len(cust)
    ev = g.msg_ev
    # dense rank of event times (equal times tie); the node number breaks ties by priority
    time_rank = np.concatenate(([0], np.cumsum(ev[1:] != ev[:-1])))
    key = time_rank[g.node_first] * np.int64(n_nodes) + np.arange(n_nodes, dtype=np.int64)
    best = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, cust, key)
    return best % np.int64(n_nodes)


def _solve(g: _Graph, max_u: int) -> CodedResolution:
    """Steps 2-4: components, merge protection, customers, anchors."""
    n_nodes, n_msgs = len(g.node_user), len(g.msg_ev)
    n_comp, comp = _components(g)
    label, n_ordered, conflict_rows = _protect(g, comp, n_comp, max_u)
    # customers: compact labels
    used = np.zeros(n_comp + n_nodes, dtype=bool)
    used[label] = True
    cust = (np.cumsum(used) - 1)[label]
    n_cust = int(np.count_nonzero(used))
    del used, label
    anchor = _anchors(g, cust, n_cust)
    stats = _stats(
        nodes=n_nodes,
        customers=n_cust,
        messages=n_msgs,
        distinct_identifier_sets=g.distinct_sets,
        components_in_bulk=n_comp - n_ordered,
        components_ordered=n_ordered,
        conflicts=len(conflict_rows),
    )
    return CodedResolution(
        customer=cust,
        anchor=anchor,
        node_first=g.node_first,
        node_last=g.node_last,
        node_messages=g.node_messages,
        conflicts=conflict_rows,
        stats=stats,
        component=comp,
    )


def resolve_codes(
    message: np.ndarray,
    node: np.ndarray,
    node_is_user_id: np.ndarray,
    message_time: np.ndarray,
    max_user_ids_per_customer: int = 1,
) -> CodedResolution:
    """Resolve integer-coded identifiers into customers. See the module docstring for the rules.

    One entry per input row in ``message`` and ``node``. Message numbers run 0..M-1 in
    processing order, (event time, message_id); ``message_time[m]`` is message m's event
    time as an integer (ascending; equal times tie for anchors). Node numbers run 0..N-1 in
    priority order (type priority, value, type), and ``node_is_user_id[n]`` tells whether
    node n is a user id. Every message and every node must occur in a row; anything else
    raises ``ValueError``, as does a ``max_user_ids_per_customer`` below 1.
    """
    t0 = time.perf_counter()
    if max_user_ids_per_customer < 1:
        raise ValueError("max_user_ids_per_customer must be >= 1")
    message = np.asarray(message, dtype=np.int64)
    node = np.asarray(node, dtype=np.int64)
    node_user = np.asarray(node_is_user_id, dtype=bool)
    msg_ev = np.asarray(message_time, dtype=np.int64)
    n_nodes, n_msgs = len(node_user), len(msg_ev)
    if len(message) != len(node):
        raise ValueError("identity resolution: message and node differ in length")
    if len(message) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CodedResolution(empty, empty, empty, empty, empty, np.zeros((0, 3), np.int64),
                               _stats(seconds=round(time.perf_counter() - t0, 3)))
    seen_msgs = np.bincount(message, minlength=n_msgs) if message.min() >= 0 else None
    seen_nodes = np.bincount(node, minlength=n_nodes) if node.min() >= 0 else None
    if seen_msgs is None or len(seen_msgs) != n_msgs or not seen_msgs.all():
        raise ValueError("identity resolution: message numbers must run 0..M-1, each used")
    if seen_nodes is None or len(seen_nodes) != n_nodes or not seen_nodes.all():
        raise ValueError("identity resolution: node numbers must run 0..N-1, each used")
    if np.any(msg_ev[1:] < msg_ev[:-1]):
        raise ValueError("identity resolution: message_time must be ascending")
    del seen_msgs, seen_nodes
    sets = _link_sets(message.copy(), node, n_nodes, n_msgs)
    g = _Graph(node_user=node_user, msg_ev=msg_ev, **sets)
    solved = _solve(g, int(max_user_ids_per_customer))
    solved.stats["seconds"] = round(time.perf_counter() - t0, 3)
    return solved
