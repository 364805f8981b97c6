from classifiers.tokenise import DemandTokenizer, rejoin_segmented


def test_tokenizer_is_deterministic() -> None:
    tokenizer = DemandTokenizer(["的"])
    text = "我们小区的物业公司乱收费，电梯坏了三个月没人修。"
    assert {tokenizer(text) for _ in range(20)} == {tokenizer(text)}


def test_tokenizer_drops_stop_words_and_punctuation() -> None:
    tokens = DemandTokenizer(["的", "了"]).tokens("小区的电梯坏了！！")
    assert "的" not in tokens
    assert "了" not in tokens
    assert "！" not in tokens
    assert "电梯" in tokens


def test_tokenizer_folds_numbers_to_a_shape() -> None:
    tokens = DemandTokenizer().tokens("3栋1201室，电话13812345678")
    assert all(not any(ch in token for ch in "123456789") for token in tokens)


def test_tokenizer_sees_full_width_and_traditional_as_plain_text() -> None:
    tokenizer = DemandTokenizer()
    assert tokenizer("醫院電話ＡＢＣ") == tokenizer("医院电话abc")


def test_rejoin_segmented_rebuilds_raw_like_text() -> None:
    assert rejoin_segmented("小区 物业 乱收费 ") == "小区物业乱收费"


def test_fast_tfidf_equals_scikit_learn_transform() -> None:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from classifiers.features import all_tokens, joined_tokens, lead_tokens
    from classifiers.vectorise import FastTfidf

    tokenizer = DemandTokenizer(["的"])
    docs = [
        tokenizer.tokens(text)
        for text in [
            "小区物业乱收费，物业公司不管",
            "学校老师违规补课收费",
            "小区停水停电，物业不管",
            "医院收费不合理，物业费也贵",
            "",
        ]
    ]
    common = {"lowercase": False, "sublinear_tf": True, "min_df": 1}
    word = TfidfVectorizer(tokenizer=all_tokens, token_pattern=None, ngram_range=(1, 2), **common)
    lead = TfidfVectorizer(tokenizer=lead_tokens, token_pattern=None, ngram_range=(1, 2), **common)
    char = TfidfVectorizer(
        analyzer="char", preprocessor=joined_tokens, ngram_range=(1, 3), **common
    )
    # 1–2-grams take the packed-sort path, 1–3-grams (63-bit keys) the argsort one
    char12 = TfidfVectorizer(
        analyzer="char", preprocessor=joined_tokens, ngram_range=(1, 2), **common
    )
    views = ((word, all_tokens), (lead, lead_tokens), (char, joined_tokens))
    for vectorizer, units in (*views, (char12, joined_tokens)):
        expected = vectorizer.fit(docs[:3]).transform(docs).toarray()
        actual = FastTfidf(vectorizer, units).transform(docs).toarray()
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_tokens_do_not_depend_on_punctuation_width_or_spacing() -> None:
    tokenizer = DemandTokenizer(["的"])
    assert tokenizer("小区的电梯坏了，物业不管！") == tokenizer("小区的电梯坏了,物业不管!")
    assert tokenizer("小区电梯\n\n坏了") == tokenizer("小区电梯 坏了")
