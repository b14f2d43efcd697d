//! Diesel table definitions, written to match `migrations/{sqlite,postgres}`.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    machines (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        api_key_hash -> Nullable<Text>,
        key_prefix -> Nullable<Text>,
        status -> Text,
        last_seen -> Nullable<BigInt>,
        hostname -> Nullable<Text>,
        os -> Nullable<Text>,
        kernel -> Nullable<Text>,
        arch -> Nullable<Text>,
        cpu_model -> Nullable<Text>,
        cores -> Nullable<Integer>,
        mem_total_bytes -> Nullable<BigInt>,
        boot_time_s -> Nullable<BigInt>,
        agent_version -> Nullable<Text>,
        interval_ms -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    enrollment_tokens (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        expires_at -> Nullable<BigInt>,
        uses_left -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        ts -> BigInt,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<BigInt>,
        detail -> Text,
    }
}

diesel::table! {
    metrics_history (machine_id, ts) {
        machine_id -> BigInt,
        ts -> BigInt,
        seq -> BigInt,
        cpu_pct -> Double,
        mem_used_pct -> Double,
        disk_used_pct -> Double,
        net_rx_bytes -> BigInt,
        net_tx_bytes -> BigInt,
        load1 -> Double,
        load5 -> Double,
        load15 -> Double,
        mem_used_bytes -> BigInt,
        mem_total_bytes -> BigInt,
        swap_used_bytes -> BigInt,
        swap_total_bytes -> BigInt,
        disk_read_bps -> Double,
        disk_write_bps -> Double,
        net_rx_bps -> Double,
        net_tx_bps -> Double,
        uptime_s -> BigInt,
        procs -> BigInt,
        detail -> Text,
    }
}

// The rollup tiers have 57 columns (n, and sum/min/max of every scalar); only the key
// and the count are declared here. `db::rollups` reads and writes the rest with SQL
// generated from `SCALAR_NAMES`.
diesel::table! {
    metrics_1m (machine_id, bucket_ts) {
        machine_id -> BigInt,
        bucket_ts -> BigInt,
        n -> BigInt,
    }
}

diesel::table! {
    metrics_1h (machine_id, bucket_ts) {
        machine_id -> BigInt,
        bucket_ts -> BigInt,
        n -> BigInt,
    }
}

diesel::table! {
    rollup_pending (machine_id, tier, bucket_ts) {
        machine_id -> BigInt,
        tier -> Integer,
        bucket_ts -> BigInt,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    notification_channels (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        kind -> Text,
        config -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    alert_rules (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        machine_ids -> Nullable<Text>,
        metric -> Text,
        comparator -> Text,
        threshold -> Double,
        clear_threshold -> Double,
        for_s -> BigInt,
        repeat_s -> Nullable<BigInt>,
        severity -> Text,
        enabled -> Bool,
        quiet_start -> Nullable<Text>,
        quiet_end -> Nullable<Text>,
        channel_ids -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    alert_events (id) {
        id -> BigInt,
        rule_id -> Nullable<BigInt>,
        rule_name -> Text,
        user_id -> BigInt,
        machine_id -> BigInt,
        metric -> Text,
        comparator -> Text,
        threshold -> Double,
        severity -> Text,
        state -> Text,
        value -> Nullable<Double>,
        resolved_value -> Nullable<Double>,
        started_at -> BigInt,
        resolved_at -> Nullable<BigInt>,
        acknowledged_at -> Nullable<BigInt>,
        acknowledged_by -> Nullable<BigInt>,
        last_notified_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    alert_deliveries (id) {
        id -> BigInt,
        event_id -> BigInt,
        channel_id -> Nullable<BigInt>,
        channel_name -> Text,
        kind -> Text,
        status -> Text,
        attempts -> Integer,
        error -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(machines -> users (owner_id));
diesel::joinable!(enrollment_tokens -> users (owner_id));
diesel::joinable!(metrics_history -> machines (machine_id));
diesel::joinable!(alert_deliveries -> alert_events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    machines,
    enrollment_tokens,
    audit_log,
    metrics_history,
    metrics_1m,
    metrics_1h,
    rollup_pending,
    settings,
    notification_channels,
    alert_rules,
    alert_events,
    alert_deliveries,
);
