"""Result tables built by ``provenance_frame`` keep their columns unconsolidated but never share
memory with what they were built from (an edit of the result must not change an input)."""

import numpy as np
import pandas as pd

from neda.rules._common import provenance_frame


def test_result_never_shares_memory_with_its_inputs() -> None:
    visits = pd.DataFrame({"subject": ["a", "b", "c"], "edss": [1.0, 2.0, 3.0]})
    fresh = np.array([0.5, 1.5, 2.5])
    view = np.arange(6.0)[::2]
    out = provenance_frame({"subject": visits["subject"].array, "edss": visits["edss"],
                            "fresh": fresh, "view": view, "again": fresh},
                           {"rule_set": "test"})
    assert out["rule_set"].tolist() == ["test"] * 3
    assert out.attrs["provenance"] == {"rule_set": "test"}
    for col in ("subject", "edss", "view", "again"):
        assert not np.shares_memory(out[col].to_numpy(), visits["subject"].to_numpy())
        assert not np.shares_memory(out[col].to_numpy(), visits["edss"].to_numpy())
        assert not np.shares_memory(out[col].to_numpy(), view)
    assert not np.shares_memory(out["again"].to_numpy(), out["fresh"].to_numpy())
    out.loc[0, ["subject", "edss", "view", "again"]] = ["z", 9.0, 9.0, 9.0]
    assert visits["subject"].tolist() == ["a", "b", "c"]
    assert visits["edss"].tolist() == [1.0, 2.0, 3.0]
    assert view.tolist() == [0.0, 2.0, 4.0]
    assert out["fresh"].tolist() == [0.5, 1.5, 2.5]
