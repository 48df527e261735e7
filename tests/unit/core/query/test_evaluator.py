"""Query semantics on the sample topology: every step, Skydive's conventions, limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from topolog.core.query import Direction, Limits, QueryError, evaluator, memory, run


def names(elements: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(e["Metadata"]["Name"] for e in elements)


def _ids(elements: Iterable[dict[str, Any]]) -> list[str]:
    return [e["ID"] for e in elements]


# The seed script's query and the response shape.


def test_pods_using_a_secret_are_its_in_neighbours_of_type_pod(q: Any) -> None:
    pods = q("G.V().Has('Type','secret','Name','mysql-pass').In().Has('Type','pod')")
    assert names(pods) == ["mysql-5d8f-abc", "wordpress-7c9d-x1", "wordpress-7c9d-x2"]


def test_nodes_come_back_in_skydive_shape(q: Any, t0: float) -> None:
    (pod,) = q("G.V('pod-mysql')")
    assert set(pod) == {"ID", "Metadata", "CreatedAt", "UpdatedAt", "Revision"}
    assert pod["CreatedAt"] == round((t0 + 4) * 1000)  # epoch ms


def test_edges_come_back_with_parent_and_child(q: Any) -> None:
    (edge,) = q("G.E('pvc-mysql>pv-1')")
    assert (edge["Parent"], edge["Child"]) == ("pvc-mysql", "pv-1")
    assert edge["Metadata"]["RelationType"] == "persistentvolumeclaim"


def test_v_lists_live_nodes_only(q: Any, sample_nodes: list[dict[str, Any]]) -> None:
    live = {n["ID"] for n in sample_nodes if "DeletedAt" not in n}
    assert set(_ids(q("G.V()"))) == live
    assert q("G.V().Count()") == len(live)


def test_v_of_an_unknown_id_is_empty(q: Any) -> None:
    assert q("G.V('nope')") == []


def test_v_with_key_value_pairs_filters_like_has(q: Any) -> None:
    assert names(q("G.V('Type', 'deployment')")) == names(q("G.V().Has('Type', 'deployment')"))


def test_keywords_and_steps_are_case_insensitive(q: Any) -> None:
    assert q("g.v().HAS('Type','pod').count()") == q("G.V().Has('Type','pod').Count()")


def test_double_and_single_quotes_are_the_same_string(q: Any) -> None:
    assert q('G.V().Has("Name", "mysql-pass")') == q("G.V().Has('Name', 'mysql-pass')")


# Has and friends.


def test_has_several_pairs_is_a_conjunction(q: Any) -> None:
    assert names(q("G.V().Has('Type', 'pod', 'State', 'DOWN')")) == ["wordpress-7c9d-x2"]


def test_has_nested_key_reads_into_metadata(q: Any) -> None:
    assert names(q("G.V().Has('K8s.Labels.tier', 'db')")) == ["mysql-5d8f-abc"]


def test_label_keys_with_dots_resolve(q: Any) -> None:
    assert names(q("G.V().Has('K8s.Labels.app.kubernetes.io/name', 'coredns')")) == ["coredns-1"]


def test_metadata_prefix_is_optional(q: Any) -> None:
    assert q("G.V().Has('Metadata.Type', 'pv')") == q("G.V().Has('Type', 'pv')")


def test_has_with_only_a_key_tests_presence(q: Any) -> None:
    assert names(q("G.V().Has('IP')")) == names(q("G.V().Has('Type', 'pod')"))


def test_has_key_tests_presence_and_has_not_absence(q: Any) -> None:
    with_data = names(q("G.V().HasKey('Data')"))
    assert with_data == ["mysql-pass", "wp-config"]
    without = names(q("G.V().HasNot('Data')"))
    assert set(with_data).isdisjoint(without)
    assert len(with_data) + len(without) == q("G.V().Count()")


def test_has_either_is_a_disjunction(q: Any) -> None:
    found = names(q("G.V().HasEither('Type', 'secret', 'Type', 'configmap')"))
    assert found == ["mysql-pass", "wp-config"]


def test_has_on_a_list_matches_any_item(q: Any) -> None:
    assert names(q("G.V().Has('Data', 'password')")) == ["mysql-pass"]


def test_equality_is_typed(q: Any) -> None:
    assert names(q("G.V().Has('Replicas', 2)")) == ["wordpress"]
    assert names(q("G.V().Has('Replicas', 2.0)")) == ["wordpress"]
    assert q("G.V().Has('Replicas', '2')") == []


def test_special_keys_read_element_fields(q: Any, t0: float) -> None:
    created = round((t0 + 4) * 1000)
    assert names(q(f"G.V().Has('@CreatedAt', {created})")) == ["mysql", "mysql-5d8f-abc"]
    assert names(q("G.V().Has('@Revision', 2)")) == ["wordpress"]
    assert q("G.V().HasKey('@DeletedAt')") == []
    assert _ids(q("G.V().Has('@ID', 'pv-1')")) == ["pv-1"]


# Predicates.


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        ("Regex('wordpress-.*')", ["wordpress-7c9d", "wordpress-7c9d-x1", "wordpress-7c9d-x2"]),
        ("Regex('wordpress')", ["wordpress", "wordpress", "wordpress"]),  # anchored
        ("Within('mysql', 'pv-1')", ["mysql", "mysql", "pv-1"]),
        ("NE('kind')", None),  # every node but the cluster; checked below
    ],
)
def test_string_predicates_on_name(q: Any, predicate: str, expected: list[str] | None) -> None:
    found = names(q(f"G.V().Has('Name', {predicate})"))
    if expected is None:
        assert "kind" not in found and len(found) == q("G.V().Count()") - 1
    else:
        assert found == expected


def test_without_keeps_elements_that_lack_the_key(q: Any) -> None:
    found = names(q("G.V().Has('Status', Without('Running', 'Bound'))"))
    assert "wordpress-7c9d-x2" in found  # CrashLoopBackOff
    assert "kind" in found  # the cluster has no Status at all
    assert "mysql-5d8f-abc" not in found and "pv-1" not in found


def test_ne_requires_the_key(q: Any) -> None:
    found = names(q("G.V().Has('Status', NE('Running'))"))
    assert found == ["mysql-pv-claim", "pv-1", "wordpress-7c9d-x2"]


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        ("Lt(2)", ["mysql"]),
        ("Lte(2)", ["mysql", "wordpress"]),
        ("Gt(1)", ["wordpress"]),
        ("Gte(1)", ["mysql", "wordpress"]),
        ("Inside(1, 2)", []),
        ("Inside(0, 3)", ["mysql", "wordpress"]),
        ("Between(1, 2)", ["mysql"]),  # lower bound included, upper excluded
        ("Outside(1, 1)", ["wordpress"]),
    ],
)
def test_order_predicates_on_numbers(q: Any, predicate: str, expected: list[str]) -> None:
    assert names(q(f"G.V().Has('Replicas', {predicate})")) == expected


def test_order_predicates_ignore_values_of_another_type(q: Any) -> None:
    assert q("G.V().Has('Name', Gt(0))") == []


def test_ipv4_range_matches_addresses_in_the_block(q: Any) -> None:
    found = names(q("G.V().Has('IP', IPV4RANGE('10.244.0.0/24'))"))
    assert found == ["coredns-1", "mysql-5d8f-abc", "wordpress-7c9d-x1"]


def test_time_predicates_on_special_keys(q: Any, t0: float) -> None:
    cut = round((t0 + 5) * 1000)
    late = names(q(f"G.V().Has('Type', 'pod', '@CreatedAt', Gte({cut}))"))
    assert late == ["wordpress-7c9d-x1", "wordpress-7c9d-x2"]


# Walking: Skydive's direction conventions.


def test_out_follows_edges_where_the_node_is_parent(q: Any) -> None:
    assert names(q("G.V('rs-wordpress').Out()")) == ["wordpress-7c9d-x1", "wordpress-7c9d-x2"]


def test_in_goes_to_parents(q: Any) -> None:
    assert names(q("G.V('secret-mysql').In()")) == [
        "default",
        "mysql-5d8f-abc",
        "wordpress-7c9d-x1",
        "wordpress-7c9d-x2",
    ]


def test_both_is_in_and_out(q: Any) -> None:
    both = names(q("G.V('pvc-mysql').Both()"))
    assert both == sorted(names(q("G.V('pvc-mysql').In()")) + names(q("G.V('pvc-mysql').Out()")))


def test_walk_filters_apply_to_the_neighbour_nodes(q: Any) -> None:
    assert names(q("G.V('pod-wp1').Out('Type', 'configmap')")) == ["wp-config"]


def test_walking_keeps_duplicates_until_dedup(q: Any) -> None:
    assert names(q("G.V().Has('Type', 'pod').Out('Type', 'secret')")) == ["mysql-pass"] * 3
    assert names(q("G.V().Has('Type', 'pod').Out('Type', 'secret').Dedup()")) == ["mysql-pass"]


def test_out_e_then_out_v_walks_from_parent_to_child(q: Any) -> None:
    edges = q("G.V('pvc-mysql').OutE()")
    assert [(e["Parent"], e["Child"]) for e in edges] == [("pvc-mysql", "pv-1")]
    assert _ids(q("G.V('pvc-mysql').OutE().OutV()")) == ["pv-1"]
    assert _ids(q("G.V('pvc-mysql').OutE().InV()")) == ["pvc-mysql"]


def test_in_e_then_in_v_walks_from_child_to_parent(q: Any) -> None:
    assert sorted(_ids(q("G.V('pv-1').InE().InV()"))) == ["cluster", "pvc-mysql"]


def test_edge_step_filters_apply_to_edges(q: Any) -> None:
    edges = q("G.V('pod-mysql').BothE('RelationType', 'ownership')")
    assert sorted((e["Parent"], e["Child"]) for e in edges) == [
        ("ns-default", "pod-mysql"),
        ("pod-mysql", "ctr-mysql"),
    ]


def test_both_v_gives_parent_then_child(q: Any) -> None:
    assert _ids(q("G.E('pvc-mysql>pv-1').BothV()")) == ["pvc-mysql", "pv-1"]


def test_edge_ends_filter_on_the_nodes(q: Any) -> None:
    found = q("G.E().Has('RelationType', 'pod').OutV('Type', 'persistentvolumeclaim')")
    assert _ids(found) == ["pvc-mysql"]


def test_e_with_has_selects_edges(q: Any) -> None:
    assert q("G.E().Has('RelationType', 'persistentvolumeclaim').Count()") == 1


# Shaping results.


def test_dedup_by_key_keeps_the_first_of_each_value(q: Any) -> None:
    kinds = q("G.V().Dedup('Type').Values('Type')")
    assert sorted(kinds) == sorted(set(q("G.V().Values('Type')")))


def test_dedup_by_key_keeps_elements_without_it(q: Any) -> None:
    assert q("G.V().Dedup('Replicas').Count()") == q("G.V().HasNot('Replicas').Count()") + 2


def test_values_returns_the_values_at_a_key(q: Any) -> None:
    assert sorted(q("G.V().Has('Type', 'container').Values('Image')")) == [
        "mysql:5.6",
        "wordpress:4.8",
        "wordpress:4.8",
    ]


def test_values_then_dedup_and_count(q: Any) -> None:
    assert q("G.V().Has('Type', 'container').Values('Image').Dedup().Count()") == 2


def test_values_of_a_map_returns_the_map(q: Any) -> None:
    assert q("G.V('pod-mysql').Values('K8s.Labels')") == [{"app": "mysql", "tier": "db"}]


def test_value_map_returns_the_keys_each_element_has(q: Any) -> None:
    maps = q("G.V().Has('Type', 'pod').Sort('Name').ValueMap('Name', 'IP')")
    assert maps[0] == {"Name": "coredns-1", "IP": "10.244.0.2"}
    assert all(set(m) == {"Name", "IP"} for m in maps)


def test_value_map_without_keys_is_the_metadata(q: Any) -> None:
    (pod,) = q("G.V('pod-mysql')")
    assert q("G.V('pod-mysql').ValueMap()") == [pod["Metadata"]]


def test_keys_lists_dotted_leaf_keys(q: Any) -> None:
    keys = q("G.V('pod-mysql').Keys()")
    assert {"Type", "Name", "IP", "K8s.Labels.app", "K8s.Namespace"} <= set(keys)
    assert "K8s" not in keys and len(keys) == len(set(keys))


def test_sum_adds_numbers_at_a_key(q: Any) -> None:
    replicas = q("G.V().Has('Type', 'deployment').Values('Replicas')")
    assert q("G.V().Has('Type', 'deployment').Sum('Replicas')") == sum(replicas)
    assert q("G.V().Has('Type', 'deployment').Values('Replicas').Sum()") == sum(replicas)


def test_limit_and_range_slice_in_order(q: Any) -> None:
    ordered = _ids(q("G.V().Sort('Name')"))
    assert _ids(q("G.V().Sort('Name').Limit(3)")) == ordered[:3]
    assert _ids(q("G.V().Sort('Name').Range(2, 5)")) == ordered[2:5]
    assert q("G.V().Range(5, 2)") == []


def test_sort_by_key_ascending_and_descending(q: Any) -> None:
    up = q("G.V().Has('Type', 'pod').Sort('Name').Values('Name')")
    assert up == sorted(up)
    down = q("G.V().Has('Type', 'pod').Sort(DESC, 'Name').Values('Name')")
    assert down == sorted(up, reverse=True)
    assert q("G.V().Has('Type', 'pod').Sort('Name', desc).Values('Name')") == down


def test_sort_defaults_to_creation_time(q: Any) -> None:
    created = [n["CreatedAt"] for n in q("G.V().Sort()")]
    assert created == sorted(created)


def test_sort_puts_elements_without_the_key_last(q: Any) -> None:
    for order in ("ASC", "DESC"):
        result = q(f"G.V().Sort({order}, 'IP')")
        has_ip = ["IP" in n["Metadata"] for n in result]
        assert has_ip == sorted(has_ip, reverse=True)


def test_shortest_path_goes_through_any_edge_direction(q: Any) -> None:
    (path,) = q("G.V('ctr-mysql').ShortestPathTo(Metadata('Type', 'persistentvolume'))")
    assert _ids(path) == ["ctr-mysql", "pod-mysql", "pvc-mysql", "pv-1"]


def test_shortest_path_respects_the_edge_filter(q: Any) -> None:
    query = (
        "G.V('ctr-mysql').ShortestPathTo("
        "Metadata('Type', 'persistentvolume'), Metadata('RelationType', 'ownership'))"
    )
    (path,) = q(query)
    assert _ids(path) == ["ctr-mysql", "pod-mysql", "ns-default", "cluster", "pv-1"]


def test_shortest_path_omits_unreachable_targets(q: Any) -> None:
    assert q("G.V('pod-mysql').ShortestPathTo(Metadata('Type', 'nothing'))") == []


def test_descendants_default_to_one_level_of_ownership(q: Any) -> None:
    found = names(q("G.V('ns-kube-system').Descendants()"))
    assert found == ["coredns-1", "kube-system"]


def test_descendants_with_depth_zero_is_the_whole_subtree(q: Any) -> None:
    subtree = q("G.V('cluster').Descendants(0)")
    assert {"ctr-mysql", "pod-coredns", "pv-1"} <= set(_ids(subtree))
    assert "rs-mysql" in _ids(subtree)  # owned by the namespace
    assert len(_ids(subtree)) == len(set(_ids(subtree)))


def test_descendants_follow_ownership_only_by_default(q: Any) -> None:
    found = _ids(q("G.V('node-worker').Descendants(0)"))
    assert found == ["node-worker"]  # node → pod edges are not ownership


def test_ascendants_walk_up_with_an_edge_filter(q: Any) -> None:
    found = names(
        q(
            "G.V('pod-wp1').Ascendants('RelationType', 'replicaset', 'RelationType', "
            "'deployment', 0)"
        )
    )
    assert found == ["wordpress", "wordpress-7c9d", "wordpress-7c9d-x1"]


def test_ascendants_depth_limits_the_levels(q: Any) -> None:
    assert names(q("G.V('ctr-wp1').Ascendants(2)")) == [
        "default",
        "wordpress",
        "wordpress-7c9d-x1",
    ]


# Time travel.


def test_a_node_deleted_later_is_visible_at_an_earlier_time(q: Any, t0: float) -> None:
    assert q("G.V('pod-wp-old')") == []
    at = t0 + 50
    (old,) = q(f"G.At({at}).V('pod-wp-old')")
    assert old["DeletedAt"] == round((t0 + 100) * 1000)
    assert "wordpress-7c9d-old" in names(q(f"G.At({at}).V('rs-wordpress').Out()"))


def test_at_shows_the_revision_valid_then(q: Any, t0: float) -> None:
    assert q(f"G.At({t0 + 100}).V('dep-wordpress').Values('Replicas')") == [1]
    assert q(f"G.At({t0 + 300}).V('dep-wordpress').Values('Replicas')") == [2]


def test_at_accepts_relative_durations(q: Any) -> None:
    # NOW is T0+1000: 950 s ago the old pod was alive.
    assert len(q("G.At('-950s').V('pod-wp-old')")) == 1
    assert len(q("G.At('-15m50s').V('pod-wp-old')")) == 1
    assert q("G.At('-1m').V('pod-wp-old')") == []


def test_at_accepts_rfc3339_dates(q: Any, t0: float) -> None:
    import datetime

    when = datetime.datetime.fromtimestamp(t0 + 50, tz=datetime.UTC).isoformat()
    assert len(q(f"G.At('{when}').V('pod-wp-old')")) == 1


def test_at_now_is_the_live_graph(q: Any) -> None:
    assert q("G.At(NOW).V().Count()") == q("G.V().Count()")
    assert q("G.Context('now').V().Count()") == q("G.V().Count()")


def test_before_creation_nothing_exists(q: Any, t0: float) -> None:
    assert q(f"G.At({t0 - 1}).V().Count()") == 0


def test_at_with_a_duration_includes_everything_alive_in_the_slice(q: Any, now: float) -> None:
    # [T0+150, T0+1000]: the old pod (gone at T0+100) is not in it; [T0+50, ...] has it.
    assert q(f"G.At({now}, 850).V('pod-wp-old')") == []
    assert len(q(f"G.At({now}, '950s').V('pod-wp-old')")) == 1


def test_slice_shows_the_latest_revision_within(q: Any, t0: float) -> None:
    assert q(f"G.At({t0 + 250}, 200).V('dep-wordpress').Values('Replicas')") == [2]


# Limits.


def test_result_size_limit_raises_a_query_error(q: Any) -> None:
    total = q("G.V().Count()")
    assert len(q("G.V()", Limits(max_results=total))) == total
    with pytest.raises(QueryError, match="more than the limit"):
        q("G.V()", Limits(max_results=total - 1))


def test_count_is_not_subject_to_the_result_limit(q: Any) -> None:
    assert q("G.V().Count()", Limits(max_results=1)) > 1


def test_step_budget_raises_a_query_error_at_the_step(q: Any) -> None:
    text = "G.V().Out().Out().Out().Out()"
    q(text)  # fine with the default budget
    with pytest.raises(QueryError, match="steps of work") as err:
        q(text, Limits(max_steps=60))
    assert err.value.position is not None and text[err.value.position - 1] in "VO"


# Indexed evaluation.


class CountingView:
    """A GraphView that records how it is asked, around a MemoryView."""

    def __init__(self, inner: memory.MemoryView) -> None:
        self.inner = inner
        self.node_scans = 0
        self.index_lookups: list[tuple[str, str]] = []

    def nodes(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        return self.inner.nodes(ids)

    def edges(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        return self.inner.edges(ids)

    def all_node_ids(self) -> Iterable[str]:
        self.node_scans += 1
        return self.inner.all_node_ids()

    def all_edge_ids(self) -> Iterable[str]:
        return self.inner.all_edge_ids()

    def nodes_by_index(self, key: str, value: str) -> Iterable[str]:
        self.index_lookups.append((key, value))
        return self.inner.nodes_by_index(key, value)

    def edges_of(self, node_ids: Sequence[str], direction: Direction) -> list[list[str]]:
        return self.inner.edges_of(node_ids, direction)


class CountingSource:
    def __init__(self, history: memory.MemoryHistory) -> None:
        self.view = CountingView(history.live())

    def live(self) -> CountingView:
        return self.view

    def view_at(self, t: float) -> CountingView:
        raise AssertionError("not used")

    def view_between(self, t0: float, t1: float) -> CountingView:
        raise AssertionError("not used")


def test_leading_has_on_indexed_keys_uses_the_index_not_a_scan(
    history: memory.MemoryHistory, now: float
) -> None:
    source = CountingSource(history)
    text = "G.V().Has('Type', 'pod', 'K8s.Namespace', 'default').Has('K8s.Labels.app', 'wordpress')"
    found = run(text, source=source, now=now)
    assert source.view.node_scans == 0
    # The label is looked up first; its few ids are filtered by the other tests rather
    # than intersected with the large Type and Namespace index sets.
    assert source.view.index_lookups == [("K8s.Labels.app", "wordpress")]
    assert names(found) == ["wordpress-7c9d-x1", "wordpress-7c9d-x2"]
    scanned = run(text.replace("G.V()", "G.V().Dedup()"), source=history, now=now)
    assert sorted(_ids(found)) == sorted(_ids(scanned))


def test_index_lookups_go_on_while_the_candidates_are_many(
    history: memory.MemoryHistory, now: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluator, "SELECTIVE_ENOUGH", 0)
    source = CountingSource(history)
    text = "G.V().Has('Type', 'pod', 'K8s.Namespace', 'default').Has('K8s.Labels.app', 'wordpress')"
    found = run(text, source=source, now=now)
    assert source.view.index_lookups == [
        ("K8s.Labels.app", "wordpress"),
        ("K8s.Namespace", "default"),
        ("Type", "pod"),
    ]
    assert names(found) == ["wordpress-7c9d-x1", "wordpress-7c9d-x2"]


def test_within_on_an_indexed_key_is_a_union_of_lookups(
    history: memory.MemoryHistory, now: float
) -> None:
    source = CountingSource(history)
    found = run("G.V().Has('Name', Within('mysql-pass', 'wp-config'))", source=source, now=now)
    assert source.view.node_scans == 0
    assert names(found) == ["mysql-pass", "wp-config"]


@pytest.mark.parametrize(
    "text",
    [
        "G.V().Has('Replicas', 2)",  # not an indexed key
        "G.V().Has('Name', Regex('mysql.*'))",  # not an equality
        "G.V().HasEither('Type', 'pod', 'Type', 'secret')",  # a disjunction
        "G.V().Has('Type')",  # presence only
    ],
)
def test_queries_the_index_cannot_answer_scan(
    history: memory.MemoryHistory, text: str, now: float
) -> None:
    source = CountingSource(history)
    indexed_only = run(text, source=source, now=now)
    assert source.view.node_scans == 1
    assert indexed_only == run(text, source=history, now=now)


def test_indexed_and_scanned_evaluation_agree(history: memory.MemoryHistory, now: float) -> None:
    text = "G.V().Has('Type', 'pod', 'State', 'UP')"
    scanned = run(text.replace("G.V()", "G.V().Dedup()"), source=history, now=now)
    assert sorted(_ids(run(text, source=history, now=now))) == sorted(_ids(scanned))
