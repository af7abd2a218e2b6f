"""Tables the registry keeps beside eventsourcing's own.

None of these tables contains plaintext personal data: key material is wrapped, blind
index rows hold truncated keyed digests and an envelope, projections hold only the
coarse values listed in SECURITY.md, and audit rows hold ids and field names.
"""

from __future__ import annotations

from vault.store.database import Database


def statements(db: Database) -> list[str]:
    """Return the CREATE statements for ``db``'s dialect, safe to run repeatedly."""
    blob = db.blob
    serial = db.serial_key
    ddl = [
        "CREATE TABLE IF NOT EXISTS {settings} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # Wrapped data keys. Erasure deletes a subject's rows here and nothing else
        # in the event tables, which is what makes the events unreadable.
        f"""CREATE TABLE IF NOT EXISTS {{data_keys}} (
            subject_id TEXT NOT NULL,
            key_version INTEGER NOT NULL,
            kek_id TEXT NOT NULL,
            wrapped {blob} NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (subject_id, key_version))""",
        f"""CREATE TABLE IF NOT EXISTS {{blind_index}} (
            kind TEXT NOT NULL,
            digest BIGINT NOT NULL,
            subject_id TEXT NOT NULL,
            envelope {blob} NOT NULL,
            PRIMARY KEY (kind, digest, subject_id))""",
        """CREATE TABLE IF NOT EXISTS {import_ledger} (
            file_sha256 TEXT NOT NULL,
            sheet TEXT NOT NULL,
            row_number INTEGER NOT NULL,
            batch_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            household_id TEXT,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (file_sha256, sheet, row_number))""",
        """CREATE TABLE IF NOT EXISTS {accounts} (
            account_id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            roles TEXT NOT NULL,
            jurisdiction TEXT NOT NULL,
            department TEXT,
            disabled INTEGER NOT NULL DEFAULT 0,
            must_change_password INTEGER NOT NULL DEFAULT 0,
            totp_secret TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {{audit}} (
            seq {serial},
            at TEXT NOT NULL,
            account_id TEXT,
            account_name TEXT,
            role TEXT,
            office TEXT,
            action TEXT NOT NULL,
            purpose TEXT,
            subject_ids TEXT NOT NULL,
            fields TEXT NOT NULL,
            outcome TEXT NOT NULL,
            reason TEXT,
            request_id TEXT NOT NULL,
            policy_version TEXT)""",
        """CREATE TABLE IF NOT EXISTS {villages} (
            code TEXT NOT NULL,
            name TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_to TEXT,
            loaded_at TEXT NOT NULL,
            PRIMARY KEY (code, valid_from))""",
        """CREATE TABLE IF NOT EXISTS {residents} (
            person_id TEXT PRIMARY KEY,
            household_id TEXT,
            village_code TEXT NOT NULL,
            sex TEXT NOT NULL,
            birth_year INTEGER,
            resident_category TEXT,
            record_status TEXT NOT NULL,
            batch_id TEXT,
            registered_at TEXT NOT NULL,
            version INTEGER NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS vault_residents_village ON {residents} (village_code)",
        """CREATE TABLE IF NOT EXISTS {households} (
            household_id TEXT PRIMARY KEY,
            village_code TEXT NOT NULL,
            members INTEGER NOT NULL,
            registered_at TEXT NOT NULL,
            version INTEGER NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS {projection_tracking} (
            projection TEXT PRIMARY KEY,
            notification_id BIGINT NOT NULL)""",
        # Second-person requests (vault.approvals). The reason, the payload and the
        # decision reason are envelopes under the first subject's data key, so the
        # free text a clerk or reviewer types is erased with the person.
        f"""CREATE TABLE IF NOT EXISTS {{requests}} (
            request_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            subject_ids TEXT NOT NULL,
            village_code TEXT NOT NULL,
            requester_id TEXT NOT NULL,
            office TEXT NOT NULL,
            reason {blob} NOT NULL,
            payload {blob} NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            reviewer_id TEXT,
            decided_at TEXT,
            decision_reason {blob},
            applied_at TEXT,
            failure_code TEXT)""",
        "CREATE INDEX IF NOT EXISTS vault_requests_status ON {requests} (status, village_code)",
        # Failed logins, per account name (kind "account") and per client address
        # (kind "address"). Both keys are keyed digests, so the table names no
        # account and no address.
        """CREATE TABLE IF NOT EXISTS {login_state} (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failure_at TEXT NOT NULL,
            blocked_until TEXT,
            PRIMARY KEY (kind, key))""",
        # The last TOTP time step each account used, so that a code works only once.
        """CREATE TABLE IF NOT EXISTS {totp_steps} (
            account_id TEXT PRIMARY KEY,
            last_step BIGINT NOT NULL)""",
        # Browser sessions. Only the SHA-256 of the session id is stored, so a reader
        # of this table cannot take a session over.
        """CREATE TABLE IF NOT EXISTS {sessions} (
            session_hash TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            csrf_token TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL)""",
        # API tokens of department systems, stored as the SHA-256 of the token.
        """CREATE TABLE IF NOT EXISTS {api_tokens} (
            token_id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL,
            label TEXT NOT NULL,
            jurisdiction TEXT NOT NULL,
            department TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT,
            last_used_at TEXT)""",
    ]
    ddl.extend(_append_only_guards(db))
    return ddl


def _append_only_guards(db: Database) -> list[str]:
    # The audit table is append-only at the database too, so that a bug or a careless
    # script cannot rewrite history. Tamper-evident Merkle proofs are not built yet.
    if db.dialect == "sqlite":
        return [
            """CREATE TRIGGER IF NOT EXISTS vault_audit_no_update BEFORE UPDATE ON {audit}
               BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
            """CREATE TRIGGER IF NOT EXISTS vault_audit_no_delete BEFORE DELETE ON {audit}
               BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
        ]
    schema = db.schema
    return [
        f"""CREATE OR REPLACE FUNCTION "{schema}".vault_audit_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$""",
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE t.tgname = 'vault_audit_append_only'
                             AND n.nspname = '{schema}') THEN
              CREATE TRIGGER vault_audit_append_only BEFORE UPDATE OR DELETE
                ON "{schema}".vault_audit
                FOR EACH ROW EXECUTE FUNCTION "{schema}".vault_audit_append_only();
            END IF; END $$""",
    ]


def create_tables(db: Database) -> None:
    """Create every registry table that does not exist yet."""
    with db.transaction() as tx:
        for statement in statements(db):
            tx.execute(statement)
