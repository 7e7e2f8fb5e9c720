use leptos::prelude::*;
use leptos_router::components::A;

use crate::cart::AddToCart;
use crate::components::{Price, StockBadge};
use crate::model::ProductSummary;

/// One product in the grid.
#[component]
pub fn ProductCard(product: ProductSummary) -> impl IntoView {
    let href = format!("/products/{}", product.id);
    let ProductSummary { id, name, price, stock, units_sold, image, .. } = product;
    let alt = name.clone();
    let label = name.clone();
    view! {
        <article class="card" data-test-id="product-card" data-product-id=id.0>
            <A href=href.clone() attr:class="card-image">
                <img src=image alt=alt loading="lazy" width="400" height="300"/>
            </A>
            <div class="card-body">
                <h2 class="card-title">
                    <A href=href>{name}</A>
                </h2>
                <div class="card-row">
                    <Price amount=price/>
                    <StockBadge stock=stock/>
                </div>
                <div class="card-row">
                    <p class="sold" data-test-id="units-sold">{units_sold}" sold"</p>
                    <AddToCart product_id=id name=label stock=stock/>
                </div>
            </div>
        </article>
    }
}
