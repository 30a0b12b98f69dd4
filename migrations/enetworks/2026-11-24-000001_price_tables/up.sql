-- E-Networks database: WHAT network services cost. Each provider's table keeps the
-- shape its provider prices in; the pricing modules turn each into a common offer
-- (MRC, NRC, term, provider). Every row carries cost + margin and an active flag.

-- DFA Magellan metro fibre: speed x term grid -> MRC, plus a once-off installation.
CREATE TABLE dfa_magellan (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    speed_mbps      INTEGER NOT NULL CHECK (speed_mbps > 0),
    term_months     INTEGER NOT NULL CHECK (term_months IN (12, 24, 36)),
    mrc_cost        NUMERIC(14,2) NOT NULL CHECK (mrc_cost >= 0),
    nrc_cost        NUMERIC(14,2) NOT NULL CHECK (nrc_cost >= 0),
    margin_pct      NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    active          BOOLEAN NOT NULL DEFAULT true,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (speed_mbps, term_months)
);

-- DFA Helios: once-off connection fee + flat MRC per speed, fixed 24-month term,
-- only for sites near (within 5 km of) a DFA node.
CREATE TABLE dfa_helios (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    speed_mbps          INTEGER NOT NULL UNIQUE CHECK (speed_mbps > 0),
    term_months         INTEGER NOT NULL DEFAULT 24 CHECK (term_months = 24),
    mrc_cost            NUMERIC(14,2) NOT NULL CHECK (mrc_cost >= 0),
    connection_fee_cost NUMERIC(14,2) NOT NULL CHECK (connection_fee_cost >= 0),
    margin_pct          NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    active              BOOLEAN NOT NULL DEFAULT true,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE dfa_helios_nodes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    city       TEXT NOT NULL,
    active     BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The suburbs each node serves (distance from the node, at most 5 km).
CREATE TABLE dfa_helios_suburbs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     BIGINT NOT NULL REFERENCES dfa_helios_nodes (id),
    suburb      TEXT NOT NULL,
    distance_km NUMERIC(4,1) NOT NULL CHECK (distance_km >= 0 AND distance_km <= 5),
    UNIQUE (node_id, suburb)
);
CREATE INDEX dfa_helios_suburbs_suburb_idx ON dfa_helios_suburbs (lower(suburb));

-- Metro Fibre Networx: speed x term -> MRC; the NRC falls with longer terms and is
-- waived at 36 months.
CREATE TABLE mfn (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    speed_mbps  INTEGER NOT NULL CHECK (speed_mbps > 0),
    term_months INTEGER NOT NULL CHECK (term_months IN (12, 24, 36)),
    mrc_cost    NUMERIC(14,2) NOT NULL CHECK (mrc_cost >= 0),
    nrc_cost    NUMERIC(14,2) NOT NULL CHECK (nrc_cost >= 0),
    margin_pct  NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    active      BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (speed_mbps, term_months),
    CHECK (term_months <> 36 OR nrc_cost = 0)
);

-- Liquid: speed x term -> MRC and NRC.
CREATE TABLE liquid_costs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    speed_mbps  INTEGER NOT NULL CHECK (speed_mbps > 0),
    term_months INTEGER NOT NULL CHECK (term_months IN (12, 24, 36)),
    mrc_cost    NUMERIC(14,2) NOT NULL CHECK (mrc_cost >= 0),
    nrc_cost    NUMERIC(14,2) NOT NULL CHECK (nrc_cost >= 0),
    margin_pct  NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    active      BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (speed_mbps, term_months)
);

-- Liquid's routers: a once-off price, a monthly rental, or both to choose from.
CREATE TABLE liquid_cpe (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model                TEXT NOT NULL UNIQUE,
    description          TEXT NOT NULL DEFAULT '',
    max_throughput_mbps  INTEGER NOT NULL CHECK (max_throughput_mbps > 0),
    once_off_cost        NUMERIC(14,2) CHECK (once_off_cost >= 0),
    monthly_rental_cost  NUMERIC(14,2) CHECK (monthly_rental_cost >= 0),
    margin_pct           NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    active               BOOLEAN NOT NULL DEFAULT true,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (once_off_cost IS NOT NULL OR monthly_rental_cost IS NOT NULL)
);

-- Internet bandwidth (IP transit) by speed tier, monthly, added to any access link.
CREATE TABLE bandwidth_costs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    speed_mbps  INTEGER NOT NULL UNIQUE CHECK (speed_mbps > 0),
    contention  TEXT NOT NULL DEFAULT '1:1',
    mrc_cost    NUMERIC(14,2) NOT NULL CHECK (mrc_cost >= 0),
    margin_pct  NUMERIC(7,4) NOT NULL CHECK (margin_pct > -100),
    active      BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
