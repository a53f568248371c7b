"""Korean text front-end: written -> spoken (numbers, symbols, English words, Hanja), the Standard
Pronunciation rules, and IPA/phones.

    from malsori.text.ko.normalize import normalize
    from malsori.text.ko.g2p import g2p, pronounce
    from malsori.text.ko.phonetic import to_ipa

    normalize("李 선생님은 3개를 샀다")   # '이 선생님은 세개를 샀다'
    g2p("국물이 같이")                   # '궁무리 가치'
    to_ipa(g2p("같이 가요"))             # 'katɕʰi kajo'

(The functions are not re-exported here: ``g2p`` and ``normalize`` would hide their modules.)
"""
