-- fitwerk schema: the single source of truth for both databases.
--
-- The file is split into sections by marker lines `-- @section NAME`. The admin
-- database gets sections `shared` and `admin`; a kiosk database gets `shared` and
-- `kiosk`. Every statement is idempotent (IF NOT EXISTS), so `init-db` can run
-- on every start-up. Times are UTC ISO-8601 text unless a column says otherwise.

-- @section shared

-- Key/value facts about this database file: its generation id (random, made when
-- the file is created), the kiosk id, the roster version, clock offsets.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- @section admin

CREATE TABLE IF NOT EXISTS staff (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name           TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'lifecoach', 'physio', 'trainer', 'doctor')),
    password_hash  TEXT NOT NULL,
    notify_email   INTEGER NOT NULL DEFAULT 1,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    pin_hash       TEXT                          -- station PIN (scrypt), asked after the staff badge
);

-- Bearer tokens for the staff API; only a SHA-256 of the token is kept.
CREATE TABLE IF NOT EXISTS api_tokens (
    id          INTEGER PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff(id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Server-side login sessions: logout deletes the row, so the cookie is dead.
CREATE TABLE IF NOT EXISTS login_sessions (
    id_hash     TEXT PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff(id),
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    seen_at     TEXT NOT NULL
);

-- Failed logins, for throttling: per e-mail address and per client (a hash of the
-- address it came from, so no IP address is kept).
CREATE TABLE IF NOT EXISTS login_failures (
    id      INTEGER PRIMARY KEY,
    email   TEXT NOT NULL COLLATE NOCASE,
    at      TEXT NOT NULL,
    client  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS kiosks (
    id               TEXT PRIMARY KEY,           -- uuid, also stored in the kiosk's meta
    name             TEXT NOT NULL UNIQUE,
    location         TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    created_at       TEXT NOT NULL,
    revoked_at       TEXT,
    last_heard_at    TEXT,                       -- server time of the last sync request
    watermark_at     TEXT,                       -- everything captured up to here is delivered
    pending          INTEGER NOT NULL DEFAULT 0, -- records the kiosk still held at its last request
    clock_offset_s   REAL,                       -- server time minus kiosk wall time
    clock_synced     INTEGER,
    role             TEXT                        -- checkin | station (NULL: checkin), set by add-kiosk only
);

-- Per kiosk boot: server time = base + the kiosk's boot-time clock. Lets the server
-- time records made before NTP synced, even after the kiosk rebooted.
CREATE TABLE IF NOT EXISTS kiosk_boots (
    kiosk_id    TEXT NOT NULL REFERENCES kiosks(id),
    boot_id     TEXT NOT NULL,
    base_epoch  REAL NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, boot_id)
);

-- Delivery high-water mark per stream (kiosk, database generation).
CREATE TABLE IF NOT EXISTS streams (
    kiosk_id    TEXT NOT NULL REFERENCES kiosks(id),
    generation  TEXT NOT NULL,
    acked_seq   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kiosk_id, generation)
);

CREATE TABLE IF NOT EXISTS groups (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    location       TEXT NOT NULL,
    starts_on      TEXT NOT NULL,                -- local date YYYY-MM-DD
    weeks          INTEGER NOT NULL DEFAULT 12,
    grace_minutes  INTEGER NOT NULL DEFAULT 10,
    timezone       TEXT NOT NULL DEFAULT 'Europe/Amsterdam',
    roster_version INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

-- A group's weekly schedule: one row per half-day a week, in local time.
CREATE TABLE IF NOT EXISTS schedule_slots (
    id        INTEGER PRIMARY KEY,
    group_id  INTEGER NOT NULL REFERENCES groups(id),
    weekday   INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),  -- Monday 0
    start     TEXT NOT NULL,                                     -- HH:MM
    end       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS participants (
    id              INTEGER PRIMARY KEY,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    group_id        INTEGER NOT NULL REFERENCES groups(id),
    status          TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('referred_in', 'intake', 'active', 'completed', 'withdrawn', 'referred')),
    lifecoach_id    INTEGER REFERENCES staff(id),
    phone           TEXT NOT NULL DEFAULT '',
    roster_version  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT 'nl', -- the kiosk greets them in it (common/i18n.py LANGUAGES)
    legal_hold      TEXT,                        -- why nothing of this person may be erased now
    anonymised_at   TEXT,                        -- names, phone and badges gone (retention or erasure)
    erased_at       TEXT,                        -- erased on request (GDPR art. 17)
    -- What a body-composition scale computes with; unknown (NULL) means weight only.
    sex             TEXT CHECK (sex IN ('male', 'female')),
    birth_date      TEXT,                        -- YYYY-MM-DD
    end_reason      TEXT                         -- why they stopped (withdrawn), for the outcome report
);
-- Attendance reads the day's groups' people on every board poll (bench/attendance_view).
CREATE INDEX IF NOT EXISTS participants_by_group ON participants(group_id, status);

-- A badge UID belongs to at most one active person (participant or staff member).
CREATE TABLE IF NOT EXISTS badges (
    id              INTEGER PRIMARY KEY,
    uid             TEXT NOT NULL,               -- canonical: hex of the UID bytes (common/badge_formats.py)
    format          TEXT NOT NULL DEFAULT 'hex', -- how its number is written for people: hex, dec, dec-reversed, em4100
    participant_id  INTEGER REFERENCES participants(id),
    staff_id        INTEGER REFERENCES staff(id),
    assigned_at     TEXT NOT NULL,
    revoked_at      TEXT,
    roster_version  INTEGER NOT NULL DEFAULT 0,
    CHECK ((participant_id IS NULL) != (staff_id IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS badges_one_active_owner ON badges(uid) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS badges_roster ON badges(roster_version);

CREATE TABLE IF NOT EXISTS excuses (
    id              INTEGER PRIMARY KEY,
    participant_id  INTEGER NOT NULL REFERENCES participants(id),
    date            TEXT NOT NULL,               -- local date YYYY-MM-DD
    reason          TEXT NOT NULL,
    created_by      INTEGER REFERENCES staff(id),
    created_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS excuses_by_date ON excuses(date, participant_id);

-- Every tap received from a kiosk, once: (kiosk_id, generation, seq) is its identity.
CREATE TABLE IF NOT EXISTS checkins (
    id              TEXT PRIMARY KEY,            -- uuid made on the kiosk
    kiosk_id        TEXT NOT NULL REFERENCES kiosks(id),
    generation      TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    badge_uid       TEXT NOT NULL,
    participant_id  INTEGER,                     -- resolved from the badge when received
    staff_id        INTEGER,
    result          TEXT NOT NULL,               -- what the kiosk showed
    at              TEXT NOT NULL,               -- best known true time (UTC)
    local_date      TEXT NOT NULL,               -- date of `at` in the kiosk location's zone
    time_source     TEXT NOT NULL,               -- synced | boot_offset | uncorrected
    kiosk_wall_at   TEXT NOT NULL,
    clock_synced    INTEGER NOT NULL,
    boot_id         TEXT NOT NULL,
    boot_s          REAL NOT NULL,
    received_at     TEXT NOT NULL,
    -- Kept but never attendance: other_location (badge of a group elsewhere) | clock
    -- (claimed a synced clock far from the server's; `at` then from the boot clock if known).
    flag            TEXT,
    UNIQUE (kiosk_id, generation, seq)
);
CREATE INDEX IF NOT EXISTS checkins_by_day ON checkins(local_date, participant_id);
CREATE INDEX IF NOT EXISTS checkins_by_time ON checkins(participant_id, at);
CREATE INDEX IF NOT EXISTS checkins_unknown ON checkins(result, badge_uid) WHERE participant_id IS NULL AND staff_id IS NULL;
-- Kiosk health counts flagged records per kiosk: without this, every record a kiosk ever sent.
CREATE INDEX IF NOT EXISTS checkins_flagged ON checkins(kiosk_id) WHERE flag IS NOT NULL;

CREATE TABLE IF NOT EXISTS measurements (
    id              TEXT PRIMARY KEY,            -- uuid made on the kiosk
    kiosk_id        TEXT NOT NULL REFERENCES kiosks(id),
    generation      TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    -- No foreign keys on what a kiosk sends: a record must never wedge the outbox.
    participant_id  INTEGER NOT NULL,
    taken_by        INTEGER,
    moment          TEXT NOT NULL,               -- intake | week6 | week12 | other
    values_json     TEXT NOT NULL,               -- field names of interfaces.md
    sources_json    TEXT NOT NULL,               -- per instrument: driver, model, serial or manual + reason
    at              TEXT NOT NULL,
    time_source     TEXT NOT NULL,
    kiosk_wall_at   TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    flag            TEXT,                        -- clock: claimed a synced clock far from the server's
    -- How it was taken: {"screening", "skipped", "bp_readings", "confirmed"} (common/protocol.py).
    details_json    TEXT NOT NULL DEFAULT '{}',
    UNIQUE (kiosk_id, generation, seq)
);
CREATE INDEX IF NOT EXISTS measurements_by_participant ON measurements(participant_id, at);
CREATE INDEX IF NOT EXISTS measurements_flagged ON measurements(kiosk_id) WHERE flag IS NOT NULL;

-- A saved measurement is never deleted or changed: invalidating it is a record of its own.
CREATE TABLE IF NOT EXISTS measurement_invalidations (
    id              INTEGER PRIMARY KEY,
    measurement_id  TEXT NOT NULL UNIQUE REFERENCES measurements(id),
    reason          TEXT NOT NULL,
    by_staff        INTEGER REFERENCES staff(id),
    at              TEXT NOT NULL
);

-- Quality checks per instrument serial: a scale on a reference weight, a blood-pressure
-- monitor's validation date. The station warns when the last is older than the interval.
CREATE TABLE IF NOT EXISTS device_checks (
    id              INTEGER PRIMARY KEY,
    device_serial   TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('reference_weight', 'validation')),
    checked_on      TEXT NOT NULL,               -- local date YYYY-MM-DD
    reference_kg    REAL,
    measured_kg     REAL,
    passed          INTEGER NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    by_staff        INTEGER REFERENCES staff(id),
    at              TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS device_checks_by_serial ON device_checks(device_serial, checked_on);

-- The physio team's warning ranges per measurement field: a station asks for a confirmation of
-- a value outside one. Stations get them with the roster; with none set, a station uses its own
-- KIOSK_WARN_RANGES, else the plausible ranges. Changes are in the audit log.
CREATE TABLE IF NOT EXISTS warning_ranges (
    field           TEXT PRIMARY KEY,            -- a MEASUREMENT_FIELDS name
    low             REAL NOT NULL,
    high            REAL NOT NULL,
    by_staff        INTEGER REFERENCES staff(id),
    at              TEXT NOT NULL,
    CHECK (low < high)
);

CREATE TABLE IF NOT EXISTS follow_ups (
    id              INTEGER PRIMARY KEY,
    participant_id  INTEGER NOT NULL REFERENCES participants(id),
    session_date    TEXT NOT NULL,
    session_start   TEXT NOT NULL,
    lifecoach_id    INTEGER REFERENCES staff(id),
    opened_at       TEXT NOT NULL,
    contacted       TEXT CHECK (contacted IN ('reached', 'not_reached')),
    reason          TEXT NOT NULL DEFAULT '',
    excused         INTEGER,
    note            TEXT NOT NULL DEFAULT '',
    next_step       TEXT NOT NULL DEFAULT '',
    escalated_at    TEXT,
    closed_at       TEXT,
    updated_at      TEXT NOT NULL,
    -- Added after the first release; common/db.py adds them to older databases.
    group_id        INTEGER,
    picked_up_at    TEXT,                        -- first save by staff: stops the escalation clock
    closed_by       INTEGER,
    updated_by      INTEGER,
    resolution      TEXT,                        -- handled | checked_in | excused (the last two: by the system)
    mail_claimed_at TEXT,                        -- a sender took the notification; stops a second one
    mail_sent_at    TEXT,
    mail_result     TEXT,                        -- sent | opted_out | no_address | closed | …
    escalation_mailed_at TEXT,
    UNIQUE (participant_id, session_date, session_start)
);
CREATE INDEX IF NOT EXISTS follow_ups_open ON follow_ups(closed_at, lifecoach_id);
-- Every attendance computation looks up the cases of today and yesterday, the board today's.
CREATE INDEX IF NOT EXISTS follow_ups_by_day ON follow_ups(session_date);

-- Append-only: who viewed or changed which participant's data, when, what.
CREATE TABLE IF NOT EXISTS audit_log (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    staff_id        INTEGER REFERENCES staff(id),
    staff_role      TEXT,
    participant_id  INTEGER,
    action          TEXT NOT NULL,               -- view | export | change
    what            TEXT NOT NULL,
    source          TEXT NOT NULL DEFAULT '',    -- web | api | cli | system
    -- Tamper evidence: hash = SHA-256 over prev_hash and this entry's content, so an edited,
    -- removed or reordered entry breaks the chain (`flask --app admin verify-audit`).
    prev_hash       TEXT,
    hash            TEXT
);
-- Retention removes the oldest entries only after a checkpoint, signed with AUDIT_KEY, has
-- recorded the hash they end on: the chain then starts again from that checkpoint.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    upto_id         INTEGER NOT NULL,            -- entries up to this id may be removed
    last_hash       TEXT NOT NULL,               -- the hash of entry upto_id
    removed         INTEGER NOT NULL,            -- how many entries it let go
    signature       TEXT NOT NULL                -- HMAC-SHA256(AUDIT_KEY, the fields above)
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_delete_only_behind_a_checkpoint BEFORE DELETE ON audit_log
WHEN OLD.id > (SELECT coalesce(max(upto_id), 0) FROM audit_checkpoints)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;

-- The programme's own results (admin/outcomes.py, admin/goals.py). ---------------------

-- The doctor's screening after intake: eligible, or not and referred where.
CREATE TABLE IF NOT EXISTS screenings (
    id              INTEGER PRIMARY KEY,
    participant_id  INTEGER NOT NULL REFERENCES participants(id),
    date            TEXT NOT NULL,
    decision        TEXT NOT NULL CHECK (decision IN ('eligible', 'not_eligible')),
    reason          TEXT NOT NULL DEFAULT '',
    referred_to     TEXT NOT NULL DEFAULT '',
    decided_by      INTEGER REFERENCES staff(id),
    created_at      TEXT NOT NULL
);

-- Load-capacity tests by the physiotherapist, at intake, week 6 and week 12.
CREATE TABLE IF NOT EXISTS load_tests (
    id               INTEGER PRIMARY KEY,
    participant_id   INTEGER NOT NULL REFERENCES participants(id),
    moment           TEXT NOT NULL CHECK (moment IN ('intake', 'week6', 'week12')),
    date             TEXT NOT NULL,
    walk_6min_m      REAL,                       -- six-minute walk distance
    chair_stands_30s INTEGER,                    -- 30-second chair stands
    grip_left_kg     REAL,
    grip_right_kg    REAL,
    load_capacity    TEXT CHECK (load_capacity IN ('good', 'moderate', 'limited')),
    note             TEXT NOT NULL DEFAULT '',
    taken_by         INTEGER REFERENCES staff(id),
    created_at       TEXT NOT NULL,
    UNIQUE (participant_id, moment)
);

-- Individual goals in the participant's words, scored on Goal Attainment Scaling.
CREATE TABLE IF NOT EXISTS goals (
    id              INTEGER PRIMARY KEY,
    participant_id  INTEGER NOT NULL REFERENCES participants(id),
    domain          TEXT NOT NULL CHECK (domain IN ('physical', 'mental', 'social')),
    text            TEXT NOT NULL,
    levels_json     TEXT NOT NULL DEFAULT '{}',  -- optional description per level -2..2
    created_by      INTEGER REFERENCES staff(id),
    created_at      TEXT NOT NULL
);
-- An adjusted goal's earlier wordings, with the last week scored under each.
CREATE TABLE IF NOT EXISTS goal_revisions (
    id              INTEGER PRIMARY KEY,
    goal_id         INTEGER NOT NULL REFERENCES goals(id),
    participant_id  INTEGER NOT NULL,
    text            TEXT NOT NULL,
    until_week      INTEGER NOT NULL,
    changed_by      INTEGER REFERENCES staff(id),
    changed_at      TEXT NOT NULL
);
-- One score per goal per week: week 0 is the baseline, 12 the end.
CREATE TABLE IF NOT EXISTS goal_evaluations (
    goal_id         INTEGER NOT NULL REFERENCES goals(id),
    participant_id  INTEGER NOT NULL,
    week            INTEGER NOT NULL CHECK (week BETWEEN 0 AND 12),
    score           INTEGER NOT NULL CHECK (score BETWEEN -2 AND 2),
    note            TEXT NOT NULL DEFAULT '',
    scored_by       INTEGER REFERENCES staff(id),
    scored_at       TEXT NOT NULL,
    PRIMARY KEY (goal_id, week)
);
CREATE INDEX IF NOT EXISTS goal_evaluations_by_participant ON goal_evaluations(participant_id, week);

-- Work found in the 15 months after the programme.
CREATE TABLE IF NOT EXISTS placements (
    id              INTEGER PRIMARY KEY,
    participant_id  INTEGER NOT NULL REFERENCES participants(id),
    kind            TEXT NOT NULL CHECK (kind IN ('volunteer', 'supported_work', 'paid_work', 'education', 'none')),
    starts_on       TEXT NOT NULL,
    ends_on         TEXT,
    hours_per_week  REAL,
    recorded_by     INTEGER REFERENCES staff(id),
    recorded_at     TEXT NOT NULL
);
-- The participation ladder (1 isolated .. 6 paid work) at intake, the end and 3..15 months after.
CREATE TABLE IF NOT EXISTS ladder_rungs (
    participant_id  INTEGER NOT NULL REFERENCES participants(id),
    moment          TEXT NOT NULL CHECK (moment IN ('intake', 'end', 'm3', 'm6', 'm12', 'm15')),
    rung            INTEGER NOT NULL CHECK (rung BETWEEN 1 AND 6),
    recorded_by     INTEGER REFERENCES staff(id),
    recorded_at     TEXT NOT NULL,
    PRIMARY KEY (participant_id, moment)
);
-- Each person's figures for the outcome report, kept when the data they come from (check-ins,
-- measurements) goes at the end of its retention or on erasure: anonymous once the person is.
CREATE TABLE IF NOT EXISTS outcome_snapshots (
    participant_id        INTEGER PRIMARY KEY REFERENCES participants(id),
    attendance_pct        REAL,
    weight_kg_change      REAL,
    systolic_mmhg_change  REAL,
    diastolic_mmhg_change REAL,
    walk_6min_m_change    REAL,
    made_at               TEXT NOT NULL
);
-- The trainer's closing note for the handover report.
CREATE TABLE IF NOT EXISTS handover_notes (
    participant_id  INTEGER PRIMARY KEY REFERENCES participants(id),
    note            TEXT NOT NULL,
    written_by      INTEGER REFERENCES staff(id),
    written_at      TEXT NOT NULL
);

-- The calendar as it really goes: a session that does not take place (the gym closed, a
-- trainer ill) for one group or a whole location on a date, or moved to another time.
-- Cancelled sessions raise no absence; moved ones are judged at their new time.
CREATE TABLE IF NOT EXISTS calendar_changes (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER REFERENCES groups(id),
    location        TEXT,
    date            TEXT NOT NULL,               -- local date YYYY-MM-DD
    reason          TEXT NOT NULL,
    moved_start     TEXT,                        -- a move: held at this local time instead
    moved_end       TEXT,
    created_by      INTEGER REFERENCES staff(id),
    created_at      TEXT NOT NULL,
    moved_to        TEXT,                        -- a move to another local date YYYY-MM-DD (times: moved_*, or the slots')
    CHECK ((group_id IS NULL) != (location IS NULL)),
    CHECK ((moved_start IS NULL) = (moved_end IS NULL))
);
CREATE INDEX IF NOT EXISTS calendar_changes_by_date ON calendar_changes(date);

-- Attendance is computed at request time and cached until something it depends on moves:
-- these triggers bump `attendance_version` on every change but a new check-in (that one
-- is seen from the newest rowid) and a kiosk heartbeat (checked against the deadlines).
INSERT OR IGNORE INTO meta(key, value) VALUES ('attendance_version', '0');
CREATE TRIGGER IF NOT EXISTS attendance_after_groups_insert AFTER INSERT ON groups
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_groups_update AFTER UPDATE ON groups
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_groups_delete AFTER DELETE ON groups
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_schedule_slots_insert AFTER INSERT ON schedule_slots
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_schedule_slots_update AFTER UPDATE ON schedule_slots
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_schedule_slots_delete AFTER DELETE ON schedule_slots
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_participants_insert AFTER INSERT ON participants
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_participants_update AFTER UPDATE ON participants
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_participants_delete AFTER DELETE ON participants
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_excuses_insert AFTER INSERT ON excuses
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_excuses_update AFTER UPDATE ON excuses
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_excuses_delete AFTER DELETE ON excuses
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_checkins_update AFTER UPDATE ON checkins
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_checkins_delete AFTER DELETE ON checkins
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_calendar_changes_insert AFTER INSERT ON calendar_changes
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_calendar_changes_delete AFTER DELETE ON calendar_changes
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_kiosks_insert AFTER INSERT ON kiosks
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_kiosks_delete AFTER DELETE ON kiosks
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;
CREATE TRIGGER IF NOT EXISTS attendance_after_kiosks_update AFTER UPDATE OF location, revoked_at ON kiosks
BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'attendance_version'; END;

-- @section kiosk

-- The roster the kiosk needs to greet and judge lateness offline: least data.
CREATE TABLE IF NOT EXISTS roster_people (
    participant_id  INTEGER PRIMARY KEY,
    first_name      TEXT NOT NULL,
    group_id        INTEGER NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    language        TEXT NOT NULL DEFAULT 'nl',
    -- Station role only (never a check-in kiosk's): what the scale needs, nothing more.
    sex             TEXT,
    birth_year      INTEGER,
    -- Station role only: {"measured": {moment: {instrument: state}}, "standing": [codes],
    -- "device_checks": …} — what is done, and answers true at every moment (an implant).
    station_json    TEXT NOT NULL DEFAULT '{}'
);

-- A blood-pressure series at the station: the seated rest starts at `started_epoch` (wall
-- clock), on this arm with this cuff; its readings are the monitor's readings since.
CREATE TABLE IF NOT EXISTS bp_series (
    id              INTEGER PRIMARY KEY,
    participant_id  INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    started_epoch   REAL NOT NULL,
    arm             TEXT NOT NULL CHECK (arm IN ('right', 'left')),
    cuff            TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS roster_badges (
    uid             TEXT PRIMARY KEY,
    participant_id  INTEGER,
    staff_id        INTEGER,
    staff_role      TEXT,
    pin_hash        TEXT                         -- a station's staff: the PIN asked after the badge
);

CREATE TABLE IF NOT EXISTS roster_groups (
    group_id        INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    starts_on       TEXT NOT NULL,
    weeks           INTEGER NOT NULL,
    grace_minutes   INTEGER NOT NULL,
    timezone        TEXT NOT NULL,
    slots_json      TEXT NOT NULL,  -- [{"weekday", "start", "end"}]
    calendar_json   TEXT NOT NULL DEFAULT '[]'  -- [{"date", "reason", "moved"?: [start, end]}]
);

-- The outbox: every captured record, in sequence order, until the server acks it.
CREATE TABLE IF NOT EXISTS outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,          -- uuid
    kind          TEXT NOT NULL CHECK (kind IN ('checkin', 'measurement')),
    body_json     TEXT NOT NULL,
    created_at    TEXT NOT NULL,                 -- kiosk wall time
    acked_at      TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE acked_at IS NULL;

-- Every tap as the screen shows it; `seq` links the ones that were recorded in the
-- outbox ("already" and staff taps record nothing new).
CREATE TABLE IF NOT EXISTS local_checkins (
    id              INTEGER PRIMARY KEY,
    seq             INTEGER REFERENCES outbox(seq) ON DELETE SET NULL,
    badge_uid       TEXT NOT NULL,
    participant_id  INTEGER,
    staff_id        INTEGER,
    first_name      TEXT,
    result          TEXT NOT NULL,
    session_key     TEXT,                        -- group:date:start, for "already"
    detail_json     TEXT NOT NULL DEFAULT '{}',
    at              TEXT NOT NULL                -- best local estimate of true time
);
CREATE INDEX IF NOT EXISTS local_checkins_session ON local_checkins(participant_id, session_key);

-- Live instrument readings on a station, waiting to be saved into a measurement.
CREATE TABLE IF NOT EXISTS instrument_readings (
    id          INTEGER PRIMARY KEY,
    instrument  TEXT NOT NULL,                   -- scale | bp
    values_json TEXT,
    error       TEXT,
    at          TEXT NOT NULL
);

-- Requests from the station screen to an instrument (start a measurement, send the
-- height to a Tanita in PC mode); the reader process, which owns the ports, carries them out.
CREATE TABLE IF NOT EXISTS instrument_commands (
    id          INTEGER PRIMARY KEY,
    instrument  TEXT NOT NULL,                   -- scale | bp
    payload_json TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    done_at     TEXT,
    error       TEXT
);

-- The intake station's one working state: who unlocked it, whom they are measuring.
CREATE TABLE IF NOT EXISTS station_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    staff_id        INTEGER,
    staff_role      TEXT,
    unlocked_at     TEXT,
    activity_epoch  REAL,
    participant_id  INTEGER,
    first_name      TEXT,
    identified_at   TEXT,
    -- A staff badge was tapped; the station waits (PIN_WAIT_S) for that person's PIN.
    pin_staff_id    INTEGER,
    pin_staff_role  TEXT,
    pin_uid         TEXT,
    pin_epoch       REAL                         -- boot clock of the tap
);

-- Wrong station PINs per staff badge: a few in a row lock the badge for a while.
CREATE TABLE IF NOT EXISTS pin_failures (
    uid           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    locked_until  REAL                           -- wall epoch (best known); NULL: not locked
);

-- Health of the kiosk's own processes, for /status.json.
CREATE TABLE IF NOT EXISTS process_status (
    name        TEXT PRIMARY KEY,                -- reader | scale | bp | sync
    state       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL,
    extra_json  TEXT NOT NULL DEFAULT '{}'
);
