-- The call records' table: Kamailio 5.6's acc table (db_sqlite/acc-create.sql,
-- version 5) with every field but the id and the time nullable. acc writes
-- NULL for a value a request lacks (acc_extra_nullable: a local answer has
-- no To-tag; a caller may send no From-tag), and a NOT NULL column would
-- lose that call's record. The estate's own fields are added by the role.
CREATE TABLE acc (
    id INTEGER PRIMARY KEY NOT NULL,
    method VARCHAR(16) DEFAULT '',
    from_tag VARCHAR(128) DEFAULT '',
    to_tag VARCHAR(128) DEFAULT '',
    callid VARCHAR(255) DEFAULT '',
    sip_code VARCHAR(3) DEFAULT '',
    sip_reason VARCHAR(128) DEFAULT '',
    time TIMESTAMP WITHOUT TIME ZONE NOT NULL
);

CREATE INDEX acc_callid_idx ON acc (callid);

INSERT INTO version (table_name, table_version) values ('acc','5');
