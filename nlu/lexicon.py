"""The hand-written word lists :mod:`nlu.acts` reads a message with.

Small on purpose: enough closed-class words (pronouns, auxiliaries, prepositions...) to find
where a noun phrase starts and ends, the common verbs of everyday news, and the sentiment and
cue words of chat messages. All lowercase; contractions are expanded before lookup ("i'm" ->
"i am", "didn't" -> "did not"), so no list holds one.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CONTRACTIONS = {
    "i'm": "i am", "im": "i am", "i've": "i have", "ive": "i have", "i'll": "i will",
    "i'd": "i would", "we're": "we are", "we've": "we have", "we'll": "we will",
    "you're": "you are", "youre": "you are", "you've": "you have", "u": "you", "ur": "your",
    "it's": "it is", "that's": "that is", "thats": "that is",
    "what's": "what is", "whats": "what is", "there's": "there is", "he's": "he is",
    "she's": "she is", "let's": "let us", "gonna": "going to", "wanna": "want to",
    "gotta": "got to", "can't": "can not", "cant": "can not", "won't": "will not",
    "dont": "do not", "didnt": "did not", "doesnt": "does not", "isnt": "is not",
    "wasnt": "was not", "havent": "have not",
}  # fmt: skip

# Said back to the person, a pronoun turns round: "my dog" -> "your dog".
TURN_ROUND = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are",
    "we": "you", "us": "you", "our": "your", "ours": "yours", "ourselves": "yourselves",
    "i'm": "you're", "i've": "you've", "i'll": "you'll", "i'd": "you'd", "we're": "you're",
    "we've": "you've", "we'll": "you'll",
}  # fmt: skip
SECOND_PERSON = _words("you your yours yourself yourselves ya")
SUBJECT_PRONOUNS = _words("i we you they he she it")
# Possessives and articles that can open a noun phrase.
DETERMINERS = _words(
    "a an the this that these those some his her their its my our your every another any"
)
COPULAS = _words("am is are was were be been")
AUXILIARIES = _words(
    "am is are was were be been being do does did have has had will would can could should "
    "shall may might must ca wo"
)
# Skipped between a subject and its verb: "I just finished", "we really love".
ADVERBS = _words(
    "just really finally actually also still never always totally literally so even already "
    "ever usually sometimes kinda honestly not apparently basically definitely seriously "
    "obviously hopefully clearly often recently currently eventually suddenly luckily "
    "unfortunately fortunately personally generally especially exactly absolutely certainly "
    "surely simply quite sorta mostly lately"
)
# Boundaries: nothing here is part of a noun phrase.
FUNCTION_WORDS = (
    _words(
        "i me we us you he him she they them it mine ours yours hers theirs myself ourselves "
        "yourself himself herself themselves itself who whom whose what which where when why how "
        "in on at for with about from by into onto over under after before during since until "
        "through across between against without within of to as than off out up down around "
        "and or but so because if while though although then also too very really just "
        "finally actually literally totally still already ever never always again even only "
        "almost now today yesterday tonight tomorrow here there anywhere somewhere everywhere "
        "nowhere soon later maybe probably "
        "lol lmao haha omg wow oh ugh yay hey hi hello ok okay yes yeah yep no nope well please "
        "thanks not all both each much many more most few something anything everything "
        "nothing someone anyone everyone nobody somebody everybody"
    )
    | AUXILIARIES
    | ADVERBS
)
# After a word ending in "s", these show it is a verb with its object ("the weather affects
# your mood"), not a plural noun.
OBJECT_OPENERS = _words("the my your his her their our its me us him them")
# Nouns too vague to say back, and times ("this morning") that are not what a message is about.
GENERIC_NOUNS = _words(
    "thing things stuff lot lots bit way kind sort one ones time times terms part parts half"
)
# Words no phrase said back may hold: a pronoun-like head ("y'all"), or a verb the chunker took
# for a noun after "that" ("does that make drawing on it difficult?" -> "that make drawing").
NOT_IN_PHRASES = _words(
    "its y'all yall someone somebody everyone everybody anyone anybody something everything "
    "anything nothing make makes do does get gets go goes take takes give gives say says see "
    "sees know knows think thinks want wants need needs seem seems feel feels try tries "
    "away anyway though again already yet still now then here there later soon unlikely "
    "likely probably maybe"
)
TIME_NOUNS = _words("morning afternoon evening night week weekend month year day")
TIME_DETERMINERS = _words("this that last next every the")
# Words that end a noun phrase ("the worst") rather than head one.
ADJECTIVES = _words(
    "new old big small little great good bad best worst first last next whole favourite "
    "favorite huge tiny long short nice cool awesome amazing terrible awful horrible "
    "beautiful real true right wrong sure happy sad tired fine busy free hard easy late early "
    "young own other same different full empty hot cold high low hungry sleepy bored solid "
    "nervous excited scared angry glad weird funny crazy"
)
# Common verbs of everyday news, base forms: +s and +ing are derived below, and a past tense
# is told by its -ed or by IRREGULAR_PAST.
VERBS = _words(
    "get have go love like hate want need think know feel finish start buy make take see "
    "watch play eat cook visit learn try win lose pass fail quit move meet call text tell "
    "say ask help work study travel fly drive leave join adopt bake build book break bring "
    "catch celebrate change choose come cry cut decide die drink drop enjoy fall find forget "
    "graduate hear hit hope hurt keep land lie listen live look miss open order pay plan "
    "prefer put read receive remember retire run sell send sit sleep spend stand steal stop "
    "swim talk teach throw turn use wait wake walk wear wish write crash cancel marry "
    "propose hire fire promote reject complete earn sign believe agree mean recommend "
    "suggest explain show give understand"
)
IRREGULAR_PAST = _words(
    "got gotten had went gone did done made took taken saw seen came gave given found "
    "left ran fell fallen felt told said met sold wrote written drove driven flew flown "
    "thought caught taught began begun became kept held brought built sent spent paid quit "
    "hit hurt cut put forgot forgotten wore worn chose chosen drank drunk swam slept woke "
    "woken threw thrown knew known grew grown drew sang rode bit hid shot stuck froze "
    "fought sank tore beat led lit meant sat stood understood spoke stole stolen broke "
    "broken ate eaten won lost bought heard"
)


def _inflections(base: str) -> set[str]:
    """Present and -ing forms (a few spurious ones do no harm); past forms are told apart by
    their -ed ending or :data:`IRREGULAR_PAST`."""
    stem = base[:-1] if base.endswith("e") and not base.endswith("ee") else base
    third = base + "es" if base.endswith(("s", "sh", "ch", "x", "o")) else base + "s"
    forms = {base, third, stem + "ing", base + base[-1] + "ing"}
    if base.endswith("y") and base[-2] not in "aeiou":
        forms.add(base[:-1] + "ies")
    return forms


VERB_FORMS = frozenset(form for base in VERBS for form in _inflections(base))
# Getting one of these is good news even in neutral words: "I adopted a cat".
GOOD_EVENTS = _words("bought won adopted landed earned booked new")
# Words ending in -ed that are no past tense.
NOT_PAST = _words("bed red shed sled seed need feed speed weed greed breed hundred sacred naked")
# Verbs whose object the subject now has: "my dad got a new job" -> "your dad's new job".
ACQUIRING = _words(
    "got get have has had bought won adopted found made built earned received booked "
    "started finished passed landed completed baked cooked ran planning"
)

POSITIVE = _words(
    "love loved loving great awesome amazing happy glad excited exciting won win winning "
    "passed promoted engaged graduated best fantastic wonderful yay congrats proud "
    "beautiful delicious fun enjoy enjoyed nice good perfect lucky celebrate celebrating "
    "thrilled hired accepted finished completed brilliant excellent lovely cute underrated "
    "finally incredible blessed grateful thankful 😀 😃 😄 😁 😊 🙂 😍 🥳 🎉 "
    "❤ ❤️ 👍 💪 🙌"
)
NEGATIVE = _words(
    "hate hated hating sad terrible awful worst bad lost lose broke broken died dead dying "
    "sick ill failed fail fired crashed stole stolen hurt injured annoying annoyed angry "
    "upset tired bored boring stressed depressed cancelled canceled late missed rejected "
    "dumped ugh sucks crap disappointed disappointing horrible ruined worried scared "
    "crying pain lonely exhausted miserable unfair rude overrated 😢 😭 😞 😔 😟 "
    "😠 😡 💔 👎 😩 😫 🙁 ☹"
)
NEGATORS = _words("not no never without hardly nobody nothing")
# A complaint grumbles about how things are; bad news reports something that happened.
COMPLAINT_WORDS = _words(
    "hate hates annoying annoyed ugh sucks worst bored boring tired exhausted stressed unfair rude"
)
COMPLAINT_PHRASES = ("sick of", "tired of", "fed up", "can not stand", "why does", "why do")
PLAN_PHRASES = (
    "going to", "i will", "we will", "plan to", "planning", "want to", "would like to",
    "hope to", "about to", "thinking about", "thinking of", "looking forward", "excited for",
    "excited about", "tomorrow", "next week", "next month", "next year", "this weekend",
    "have to", "need to",
)  # fmt: skip
# Times ahead that make a present-tense statement a plan ("I start a new job on monday"), but
# not a past one ("I went out on monday").
FUTURE_TIMES = (
    "tonight", "this evening", "on monday", "on tuesday", "on wednesday", "on thursday",
    "on friday", "on saturday", "on sunday",
)  # fmt: skip
# "I have to say, it was great" plans nothing.
NOT_PLAN_PHRASES = ("have to say", "have to admit", "need to say")
OPINION_WORDS = _words(
    "think thought believe feel opinion imo love like prefer favourite favorite enjoy "
    "overrated underrated best better worse"
)
# "I think...", "we love...": a view the person states as theirs.
OPINION_VERBS = _words("think thought believe feel felt love like prefer enjoy adore")
# "I'm engaged!": news told as a state, not a verb.
NEWS_STATES = _words("engaged pregnant married hired promoted retired graduated divorced")
QUESTION_WORDS = _words("what why how when where who which whose")
# "Can you help me?", "do you think...?": a request or a question about the topic, not the bot.
NOT_ABOUT_BOT = _words(
    "think know mean agree recommend suggest help tell explain show give send understand"
)
