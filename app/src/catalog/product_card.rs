use leptos::prelude::*;
use leptos_router::components::A;

use crate::cart::AddToCart;
use crate::components::{Price, StockBadge};
use crate::model::{ProductSummary, question_counts};

/// One product in the grid.
#[component]
pub fn ProductCard(product: ProductSummary) -> impl IntoView {
    let href = format!("/products/{}", product.id);
    let ProductSummary { id, name, price, stock, units_sold, image, questions, answered, .. } = product;
    let label = name.clone();
    // One Tab stop per card: the name's link, which covers the whole card
    // (a tap anywhere opens the product). "Add to cart" stays a click away
    // for a mouse or a finger and is on the product page for the keyboard.
    view! {
        <article class="card" data-test-id="product-card" data-product-id=id.0>
            <div class="card-image">
                <img src=image alt="" loading="lazy" width="400" height="300"/>
            </div>
            <div class="card-body">
                <h2 class="card-title">
                    <A href=href>{name}</A>
                </h2>
                <div class="card-row">
                    <Price amount=price/>
                    <StockBadge stock=stock/>
                </div>
                <div class="card-row">
                    <p class="sold">
                        <span data-test-id="units-sold">{units_sold}" sold"</span>
                        {question_counts(questions, answered).map(|words| view! {
                            <span class="card-questions" data-test-id="card-question-count">{words}</span>
                        })}
                    </p>
                    <AddToCart product_id=id name=label stock=stock quick=true/>
                </div>
            </div>
        </article>
    }
}
