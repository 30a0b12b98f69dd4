//! Categories and products. Customers see active rows only; staff who manage pricing
//! see inactive ones too (rows are never deleted, so quote snapshots stay traceable).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::schema::{categories, products};
use crate::db::{into_domain, record};
use crate::domain::aas::Product;
use crate::domain::ids::{CategoryId, ProductId};
use crate::domain::pricing::Billing;
use crate::domain::states::VmComponent;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = categories)]
pub struct Category {
    pub id: CategoryId,
    pub slug: String,
    pub name: String,
    pub description: String,
}

record!(
    /// A `products` row, read as the [`Product`] pricing knows.
    ProductRecord from products into Product {
        id: ProductId,
        category_id: CategoryId,
        sku: String,
        name: String,
        description: String,
        unit: String,
        billing: Billing,
        cost: Decimal,
        margin_pct: Decimal,
        vm_component: Option<VmComponent>,
        active: bool,
    }
);

/// The catalog as its pages show it, read in two queries and kept for a minute by
/// [`crate::db::cache::PriceCache`].
pub struct Catalog {
    /// Active categories in their order.
    pub categories: Vec<Category>,
    /// Every product of those categories, active or not, by category order then name.
    pub products: Vec<Product>,
}

impl Catalog {
    pub fn category(&self, slug: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.slug == slug)
    }

    /// The products of one category (or of all), inactive ones only when asked.
    pub fn products(&self, category: Option<CategoryId>, include_inactive: bool) -> Vec<Product> {
        self.products
            .iter()
            .filter(|p| category.is_none_or(|c| p.category_id == c) && (include_inactive || p.active))
            .cloned()
            .collect()
    }

    /// Each category with how many products it shows.
    pub fn categories_with_counts(&self, include_inactive: bool) -> Vec<(Category, usize)> {
        self.categories
            .iter()
            .map(|c| {
                let count =
                    self.products.iter().filter(|p| p.category_id == c.id && (include_inactive || p.active)).count();
                (c.clone(), count)
            })
            .collect()
    }
}

pub async fn load(conn: &mut AsyncPgConnection) -> QueryResult<Catalog> {
    let categories = categories::table
        .filter(categories::active.eq(true))
        .order((categories::sort_order.asc(), categories::name.asc()))
        .select(Category::as_select())
        .load(conn)
        .await?;
    let rows = products::table
        .inner_join(categories::table)
        .filter(categories::active.eq(true))
        .order((categories::sort_order.asc(), categories::name.asc(), products::name.asc()))
        .select(ProductRecord::as_select())
        .load(conn)
        .await?;
    Ok(Catalog { categories, products: into_domain(rows) })
}

/// Products matching `search` in name, SKU or description, by category order then name.
pub async fn search(conn: &mut AsyncPgConnection, search: &str, include_inactive: bool) -> QueryResult<Vec<Product>> {
    let pattern = crate::db::like_pattern(search);
    let mut query = products::table
        .inner_join(categories::table)
        .filter(categories::active.eq(true))
        .filter(
            products::name
                .ilike(pattern.clone())
                .or(products::sku.ilike(pattern.clone()))
                .or(products::description.ilike(pattern)),
        )
        .order((categories::sort_order.asc(), categories::name.asc(), products::name.asc()))
        .select(ProductRecord::as_select())
        .into_boxed();
    if !include_inactive {
        query = query.filter(products::active.eq(true));
    }
    query.load(conn).await.map(into_domain)
}

/// The given products (active or not: the caller decides what an inactive one means).
pub async fn products_by_ids(conn: &mut AsyncPgConnection, ids: &[ProductId]) -> QueryResult<Vec<Product>> {
    products::table
        .filter(products::id.eq_any(ids))
        .select(ProductRecord::as_select())
        .load(conn)
        .await
        .map(into_domain)
}

/// The active products a custom VM size is priced from.
pub async fn vm_components(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Product>> {
    products::table
        .filter(products::vm_component.is_not_null())
        .filter(products::active.eq(true))
        .select(ProductRecord::as_select())
        .load(conn)
        .await
        .map(into_domain)
}
