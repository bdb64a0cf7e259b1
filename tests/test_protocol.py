"""The frozen protocol's params are the trained default with a bigger pool and nothing else (docs/protocol.md)."""
from conftest import ROOT
from e2h.params import load_params


def test_the_protocol_is_the_trained_default_with_a_pool_four_times_its_largest_n():
    train, protocol = (load_params(ROOT / "params" / f"{n}.yaml") for n in ("default-train", "protocol"))
    assert protocol.sample.n == 128 and protocol.rerank.ns == [1, 2, 4, 8, 16, 32]
    assert protocol.sample.n >= 4 * max(protocol.rerank.ns) and protocol.rerank.ties == "expected"
    a, b = train.to_dict(), protocol.to_dict()
    for d in (a, b):
        d["sample"]["n"] = d["rerank"]["ns"] = d["name"] = d["figures_dir"] = None
    assert a == b
