// @generated automatically by Diesel CLI.

diesel::table! {
    categories (id) {
        id -> Int8,
        slug -> Text,
        name -> Text,
        description -> Text,
        sort_order -> Int4,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    products (id) {
        id -> Int8,
        category_id -> Int8,
        sku -> Text,
        name -> Text,
        description -> Text,
        unit -> Text,
        billing -> Text,
        cost -> Numeric,
        margin_pct -> Numeric,
        vm_component -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    terraform_vm_config (id) {
        id -> Int8,
        name -> Text,
        description -> Text,
        vcpu -> Int4,
        ram_gb -> Int4,
        disk_gb -> Int4,
        disk_type -> Text,
        os -> Text,
        os_family -> Text,
        template_image -> Text,
        cost -> Numeric,
        setup_cost -> Numeric,
        margin_pct -> Numeric,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
