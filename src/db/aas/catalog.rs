//! Categories and products. Customers see active rows only; staff who manage pricing
//! see inactive ones too (rows are never deleted, so quote snapshots stay traceable).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::{categories, products};
use crate::domain::ids::{CategoryId, ProductId};

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = categories)]
pub struct Category {
    pub id: CategoryId,
    pub slug: String,
    pub name: String,
    pub description: String,
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = products)]
pub struct Product {
    pub id: ProductId,
    pub category_id: CategoryId,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub unit: String,
    pub billing: String,
    pub cost: Decimal,
    pub margin_pct: Decimal,
    pub vm_component: Option<String>,
    pub active: bool,
}

/// Active categories in their order, each with how many products it shows.
pub async fn categories_with_counts(
    conn: &mut AsyncPgConnection,
    include_inactive: bool,
) -> QueryResult<Vec<(Category, usize)>> {
    let all: Vec<Category> = categories::table
        .filter(categories::active.eq(true))
        .order((categories::sort_order.asc(), categories::name.asc()))
        .select(Category::as_select())
        .load(conn)
        .await?;
    let mut shown = products::table.select(products::category_id).into_boxed();
    if !include_inactive {
        shown = shown.filter(products::active.eq(true));
    }
    let shown: Vec<CategoryId> = shown.load(conn).await?;
    Ok(all
        .into_iter()
        .map(|c| {
            let count = shown.iter().filter(|id| **id == c.id).count();
            (c, count)
        })
        .collect())
}

pub async fn category_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Category>> {
    categories::table
        .filter(categories::slug.eq(slug))
        .filter(categories::active.eq(true))
        .select(Category::as_select())
        .first(conn)
        .await
        .optional()
}

/// Products of one category (or all), optionally matching `search` in name, SKU or
/// description, by category order then name.
pub async fn products(
    conn: &mut AsyncPgConnection,
    category: Option<CategoryId>,
    search: Option<&str>,
    include_inactive: bool,
) -> QueryResult<Vec<Product>> {
    let mut query = products::table
        .inner_join(categories::table)
        .filter(categories::active.eq(true))
        .order((categories::sort_order.asc(), products::name.asc()))
        .select(Product::as_select())
        .into_boxed();
    if let Some(category) = category {
        query = query.filter(products::category_id.eq(category));
    }
    if let Some(search) = search {
        let pattern = crate::db::like_pattern(search);
        query = query.filter(
            products::name
                .ilike(pattern.clone())
                .or(products::sku.ilike(pattern.clone()))
                .or(products::description.ilike(pattern)),
        );
    }
    if !include_inactive {
        query = query.filter(products::active.eq(true));
    }
    query.load(conn).await
}

/// The given products (active or not: the caller decides what an inactive one means).
pub async fn products_by_ids(conn: &mut AsyncPgConnection, ids: &[ProductId]) -> QueryResult<Vec<Product>> {
    products::table.filter(products::id.eq_any(ids)).select(Product::as_select()).load(conn).await
}

/// The active products a custom VM size is priced from, by their component name.
pub async fn vm_components(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Product>> {
    products::table
        .filter(products::vm_component.is_not_null())
        .filter(products::active.eq(true))
        .select(Product::as_select())
        .load(conn)
        .await
}
