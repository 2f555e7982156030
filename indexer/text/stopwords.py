"""Function words per language, accent-folded and lower case (hand-written, no downloads).

Why: a dictionary term must not start or end with one ("of liberty", "ideas for"), and stop
words carry no topical signal. Lists are short on purpose (articles, pronouns, prepositions,
conjunctions, auxiliaries): a topical word wrongly listed here would never become an annotation.
"""

from __future__ import annotations

from indexer.text.normalize import strip_accents

__all__ = ["GENERIC_WORDS", "STOPWORDS", "is_stopword", "stopwords_for"]

_RAW: dict[str, str] = {
    "en": """a about above after again against all am an and any are as at be because been before
        being below between both but by can could did do does doing down during each few for from
        further had has have having he her here hers herself him himself his how i if in into is it
        its itself just me more most my myself no nor not now of off on once only or other our ours
        ourselves out over own same she should so some such than that the their theirs them
        themselves then there these they this those through to too under until up very was we were
        what when where which while who whom why will with would you your yours yourself
        yourselves s t don shouldn isn aren wasn weren won wouldn couldn ll re ve d m o y""",
    "es": """a al algo algunas algunos ante antes como con contra cual cuando de del desde donde
        durante e el ella ellas ellos en entre era es esa esas ese eso esos esta estas este esto
        estos fue ha hasta hay la las le les lo los mas me mi mis mucho muy ni no nos nosotros o os
        otra otro para pero poco por porque que quien se sea ser si sin sobre su sus tambien te
        tiene tu tus un una uno unos y ya yo""",
    "fr": """a au aux avec ce ces cet cette d dans de des du elle elles en est et etre eu il ils
        je l la le les leur leurs lui m ma mais me mes moi mon n ne nos notre nous on ou par pas
        pour qu que qui s sa se ses son sont sur ta te tes toi ton tu un une vos votre vous y c j t""",
    "de": """aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dein
        dem den der des dich die dir du durch ein eine einem einen einer eines er es fur hat hatte
        ich ihr ihre im in ist ja kann mein mich mir mit nach nicht noch nur ob oder ohne sein sich
        sie sind so uber um und uns unser vom von vor war was weil wenn wer wie wir wird zu zum
        zur""",
    "pt": """a ao aos as com como da das de do dos e ela elas ele eles em entre era essa esse
        esta este eu foi ha isso isto ja la mais mas me meu minha muito na nas nao no nos o os ou
        para pela pelo por qual que se sem ser seu sua suas seus tambem te tem um uma umas uns
        voce""",
    "it": """a ad al alla alle agli ai anche che chi ci come con da dal dalla dei del della delle
        di e ed gli ha ho i il in io la le lei lo loro lui ma mi ne nei nel nella noi non o per
        piu quale quando questa questo se si sono su sua suo sul sulla ti tra tu un una uno vi""",
    "nl": """aan al als bij dan dat de der die dit door een en er had heb het hij hoe ik in is
        je kan maar me met mij naar niet nog of om onder ons ook op over te tot u uit van voor
        was wat we wel wie wij zal ze zij zijn zo""",
    "sv": """alla att av de dem den denna det detta dig du efter eller en ett for fran har hon
        honom i inte jag man med mig min mitt nar och om oss pa sa sig sin som till under vad var
        vi""",
    "da": """af alle at da de dem den denne der det dig du efter eller en er et for fra han har
        hun i ikke jeg med mig min mod nar og om os pa sa sig sin som til under var vi""",
    "no": """alle at av da de dem den denne der det deg du eller en er et etter for fra han har
        hun i ikke jeg med meg min nar og om oss pa sa seg sin som til under var vi""",
    "fi": """ei ja jo joka jos kanssa kuin mika mutta ne niin nyt ole on se sen siina ta tai
        tama me he han minun sinun""",
    "ru": """а без в во вот все да для до его ее если же за и из или им их к как ко ли мы на не
        ни но о об он она они от по при с со так то ты у уже что это я""",
    "pl": """a aby ale bez by byc czy dla do i ich jak jest jego jej ktory lub na nie o od po
        pod przez sie so ta tak te tego to tu w we z za ze""",
    "tr": """ama bir bu da de diye gibi icin ile ise ki mi ne o olan sonra ve veya ya""",
}

#: Words that describe a pin's packaging, not its topic ("ideas", "tips", "best"); a dictionary
#: term made only of these is dropped. Per language, accent-folded.
_GENERIC_RAW: dict[str, str] = {
    "en": """idea ideas tip tips best easy simple inspiration inspo love great new cute amazing
        awesome beautiful favorite favourite stuff things thing way ways guide list top how diy
        pin pins board boards photo photos image images pic pics make made day look good nice""",
    "es": """idea ideas consejos mejor mejores facil faciles simple inspiracion amor nuevo nueva
        lindo linda bonito bonita cosas guia lista como hacer""",
    "fr": """idee idees astuces conseils meilleur meilleurs meilleure facile faciles simple
        inspiration amour nouveau nouvelle joli jolie choses guide liste comment faire""",
    "de": """idee ideen tipps beste besten einfach einfache einfaches inspiration liebe neu neue
        schon schone dinge anleitung liste wie machen""",
    "pt": """ideia ideias dicas melhor melhores facil faceis simples inspiracao amor novo nova
        lindo linda bonito bonita coisas guia lista como fazer""",
}

STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(strip_accents(w) for w in words.split()) for lang, words in _RAW.items()
}
GENERIC_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(strip_accents(w) for w in words.split()) for lang, words in _GENERIC_RAW.items()
}
_EMPTY: frozenset[str] = frozenset()


def stopwords_for(lang: str | None) -> frozenset[str]:
    """Stop words of ``lang`` (accent-folded surface forms); empty for unknown languages."""
    return STOPWORDS.get((lang or "").lower(), _EMPTY)


def is_stopword(token: str, lang: str | None) -> bool:
    return strip_accents(token) in stopwords_for(lang)
