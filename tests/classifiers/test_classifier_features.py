import numpy as np
import pytest
import scipy.sparse as sp

from classifiers.features import LEAD_TOKENS, DemandFeatures
from classifiers.tokenise import DemandTokenizer

TEXTS = [
    "小区物业乱收费，物业公司不管",
    "学校老师违规补课收费",
    "小区停水停电，物业不管",
    "医院收费不合理，物业费也贵",
    "物业公司乱收费，小区停水",
    "",
]


def _docs() -> list[list[str]]:
    tokenizer = DemandTokenizer(["的"])
    docs = [tokenizer.tokens(text) for text in TEXTS]
    # a message longer than the lead, so the lead view is a true prefix of the word view
    docs.append(tokenizer.tokens("，".join(TEXTS[:5]) * 3))
    assert len(docs[-1]) > LEAD_TOKENS
    return docs


@pytest.mark.parametrize("max_df", [1.0, 0.5])
@pytest.mark.parametrize("shared", [True, False])  # lead ids read off the word view, or not
def test_features_equal_scikit_learn_vectorizers(max_df: float, shared: bool) -> None:
    docs = _docs()
    groups = [str(index) for index in range(len(docs))]
    features = DemandFeatures(min_df=1, max_df=max_df).fit(docs, groups)
    if shared:
        assert features._lead_from_words() is not None
    else:
        features._lead_ids = ()  # each view on its own
    reference = [(vectorizer.fit(docs), weight) for vectorizer, _, weight in features._unfitted()]
    batches: tuple[list[list[str]], ...] = (docs, docs[::-1], docs[-1:], docs[5:6], [[]])
    for batch in batches:
        expected = sp.hstack([v.transform(batch) * w for v, w in reference]).toarray()
        actual = features.transform(batch).toarray()
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_lead_id_map_is_not_pickled() -> None:
    import pickle

    docs = _docs()
    features = DemandFeatures(min_df=1, max_df=1.0).fit(docs, [str(i) for i in range(len(docs))])
    before = features.transform(docs).toarray()
    restored = pickle.loads(pickle.dumps(features))
    assert "_lead_ids" not in restored.__dict__
    np.testing.assert_array_equal(restored.transform(docs).toarray(), before)
