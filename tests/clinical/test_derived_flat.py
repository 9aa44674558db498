"""derived_features flattens the findings through pydantic's ``model_dump()``: the same leaves, paths and texts as
walking the models themselves (the way it was written first), for any valid findings."""

from hypothesis import given, settings
from pydantic import BaseModel
from test_findings import findings_strategy

from leiosurv.clinical.diagnosis import derived_features


def _walk(prefix: str, obj: BaseModel, flat: dict[str, str]) -> None:
    for k, v in obj:
        if isinstance(v, BaseModel):
            _walk(f"{prefix}{k}.", v, flat)
        else:
            flat[f"{prefix}{k}"] = "unknown" if v is None else str(v)


@settings(max_examples=200, deadline=None)
@given(findings_strategy)
def test_flattened_findings_are_the_models_leaves(f):
    walked: dict[str, str] = {}
    _walk("", f, walked)
    feats = derived_features(f)
    assert list(feats)[:len(walked)] == list(walked)  # every leaf, in the models' order, before the derived ones
    assert {k: feats[k] for k in walked} == walked
