// @generated automatically by Diesel CLI.

diesel::table! {
    customer_cards (id) {
        id -> Int8,
        organisation_id -> Int8,
        brand -> Text,
        last_four -> Text,
        exp_month -> Int2,
        exp_year -> Int2,
        holder_name -> Text,
        gateway_token -> Text,
        is_default -> Bool,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    disk_logs (id) {
        id -> Int8,
        organisation_id -> Int8,
        quote_id -> Nullable<Int8>,
        vm_log_id -> Nullable<Int8>,
        vm_name -> Text,
        disk_name -> Text,
        size_gb -> Int4,
        disk_type -> Text,
        event -> Text,
        status -> Text,
        detail -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    in_app_alerts (id) {
        id -> Int8,
        organisation_id -> Nullable<Int8>,
        user_id -> Nullable<Int8>,
        level -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        link -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        is_read -> Bool,
        read_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    organisation_wallets (id) {
        id -> Int8,
        organisation_id -> Int8,
        balance -> Numeric,
        low_balance_threshold -> Numeric,
        currency -> Text,
        low_balance_alerted -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    organisations (id) {
        id -> Int8,
        name -> Text,
        registration_number -> Nullable<Text>,
        vat_number -> Nullable<Text>,
        billing_email -> Nullable<Text>,
        status -> Text,
        suspended_reason -> Nullable<Text>,
        is_operator -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    permissions (id) {
        id -> Int8,
        code -> Text,
        description -> Text,
    }
}

diesel::table! {
    quote_lines (id) {
        id -> Int8,
        quote_id -> Int8,
        line_no -> Int4,
        catalog -> Text,
        item_kind -> Text,
        item_id -> Int8,
        sku -> Text,
        description -> Text,
        billing -> Text,
        unit_cost -> Numeric,
        margin_pct -> Numeric,
        unit_price -> Numeric,
        quantity -> Int4,
        amount -> Numeric,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    quotes (id) {
        id -> Int8,
        number -> Text,
        organisation_id -> Int8,
        created_by -> Nullable<Int8>,
        kind -> Text,
        status -> Text,
        title -> Text,
        currency -> Text,
        term_months -> Nullable<Int4>,
        site_address -> Nullable<Text>,
        site_suburb -> Nullable<Text>,
        valid_until -> Timestamptz,
        once_off_subtotal -> Numeric,
        monthly_subtotal -> Numeric,
        vat_rate -> Numeric,
        once_off_vat -> Numeric,
        monthly_vat -> Numeric,
        once_off_total -> Numeric,
        monthly_total -> Numeric,
        amount_due -> Numeric,
        accepted_by -> Nullable<Int8>,
        accepted_at -> Nullable<Timestamptz>,
        declined_by -> Nullable<Int8>,
        declined_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    role_permissions (role_id, permission_id) {
        role_id -> Int8,
        permission_id -> Int8,
    }
}

diesel::table! {
    roles (id) {
        id -> Int8,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    user_activity_log (id) {
        id -> Int8,
        user_id -> Nullable<Int8>,
        actor_email -> Nullable<Text>,
        organisation_id -> Nullable<Int8>,
        action -> Text,
        target -> Nullable<Text>,
        ip -> Nullable<Text>,
        detail -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    user_roles (user_id, role_id) {
        user_id -> Int8,
        role_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        organisation_id -> Int8,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_active -> Bool,
        must_change_password -> Bool,
        failed_login_count -> Int4,
        failed_login_window_start -> Nullable<Timestamptz>,
        locked_until -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        session_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    vm_logs (id) {
        id -> Int8,
        organisation_id -> Int8,
        quote_id -> Nullable<Int8>,
        vm_quote_id -> Nullable<Int8>,
        vm_name -> Text,
        event -> Text,
        status -> Text,
        detail -> Jsonb,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    vm_quotes (id) {
        id -> Int8,
        quote_id -> Int8,
        quote_line_id -> Int8,
        template_id -> Nullable<Int8>,
        name -> Text,
        vcpu -> Int4,
        ram_gb -> Int4,
        disk_gb -> Int4,
        disk_type -> Text,
        os -> Text,
        count -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    wallet_transactions (id) {
        id -> Int8,
        wallet_id -> Int8,
        organisation_id -> Int8,
        kind -> Text,
        direction -> Int2,
        amount -> Numeric,
        balance_after -> Numeric,
        quote_id -> Nullable<Int8>,
        reference -> Text,
        description -> Text,
        idempotency_key -> Nullable<Text>,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}
