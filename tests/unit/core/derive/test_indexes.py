"""indexes: candidate sets that are supersets of the matches, found by key=value pairs."""

from __future__ import annotations

from topolog.core import selectors
from topolog.core.derive import indexes
from topolog.core.kinds import refs


def sel(namespace: str, **match: str) -> refs.BySelector:
    return refs.BySelector(
        kind="Pod", namespace=namespace, selector=selectors.parse_map(match), relation="service"
    )


def test_selectors_are_found_through_one_of_their_pairs() -> None:
    index = indexes.Index()
    web = indexes.SelectorKey("svc-web", sel("ns", app="web", tier="front"))
    other_ns = indexes.SelectorKey("svc-x", sel("other", app="web"))
    index.add_selector(web)
    index.add_selector(other_ns)
    assert index.selectors_for("Pod", "ns", {"app": "web", "tier": "front"}) == {web}
    assert index.selectors_for("Pod", "ns", {"app": "db"}) == set()
    index.remove_selector(web)
    assert index.selectors_for("Pod", "ns", {"app": "web", "tier": "front"}) == set()


def test_selectors_without_pairs_are_candidates_for_every_object_of_the_namespace() -> None:
    index = indexes.Index()
    exists = refs.BySelector(
        kind="Pod",
        namespace="ns",
        selector=selectors.parse({"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
        relation="deployment",
    )
    sk = indexes.SelectorKey("dep", exists)
    index.add_selector(sk)
    assert index.selectors_for("Pod", "ns", {}) == {sk}
    index.add_labels("Pod", "ns", "p1", {"app": "a"})
    index.add_labels("Pod", "other", "p2", {"app": "a"})
    assert index.candidates(exists) == {"p1"}


def test_candidates_use_the_rarest_pair() -> None:
    index = indexes.Index()
    for i in range(5):
        index.add_labels("Pod", "ns", f"p{i}", {"team": "a", "app": f"app{i}"})
    assert index.candidates(sel("ns", team="a", app="app3")) == {"p3"}
    index.remove_labels("Pod", "ns", "p3", {"team": "a", "app": "app3"})
    assert index.candidates(sel("ns", team="a", app="app3")) == set()


def test_referrers_by_key_and_uid() -> None:
    index = indexes.Index()
    index.add_referrer("pod", key=("Secret", "ns", "s"))
    index.add_referrer("rs-child", uid="rs-uid")
    assert index.referrers(key=("Secret", "ns", "s"), uid="rs-uid") == {"pod", "rs-child"}
    index.remove_referrer("pod", key=("Secret", "ns", "s"))
    assert index.referrers(key=("Secret", "ns", "s"), uid="") == set()


def test_lookups_are_counted() -> None:
    index = indexes.Index()
    before = index.lookups
    index.uid_of(("Pod", "ns", "p"))
    index.selectors_for("Pod", "ns", {"a": "1", "b": "2"})
    assert index.lookups - before == 4
