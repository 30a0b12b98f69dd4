// @generated automatically by Diesel CLI.

diesel::table! {
    bandwidth_costs (id) {
        id -> Int8,
        speed_mbps -> Int4,
        contention -> Text,
        mrc_cost -> Numeric,
        margin_pct -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    dfa_helios (id) {
        id -> Int8,
        speed_mbps -> Int4,
        term_months -> Int4,
        mrc_cost -> Numeric,
        connection_fee_cost -> Numeric,
        margin_pct -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    dfa_helios_nodes (id) {
        id -> Int8,
        name -> Text,
        city -> Text,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    dfa_helios_suburbs (id) {
        id -> Int8,
        node_id -> Int8,
        suburb -> Text,
        distance_km -> Numeric,
    }
}

diesel::table! {
    dfa_magellan (id) {
        id -> Int8,
        speed_mbps -> Int4,
        term_months -> Int4,
        mrc_cost -> Numeric,
        nrc_cost -> Numeric,
        margin_pct -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    liquid_costs (id) {
        id -> Int8,
        speed_mbps -> Int4,
        term_months -> Int4,
        mrc_cost -> Numeric,
        nrc_cost -> Numeric,
        margin_pct -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    liquid_cpe (id) {
        id -> Int8,
        model -> Text,
        description -> Text,
        max_throughput_mbps -> Int4,
        once_off_cost -> Nullable<Numeric>,
        monthly_rental_cost -> Nullable<Numeric>,
        margin_pct -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    mfn (id) {
        id -> Int8,
        speed_mbps -> Int4,
        term_months -> Int4,
        mrc_cost -> Numeric,
        nrc_cost -> Numeric,
        margin_pct -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
