use crate::model::{BOARD_LIMIT, ProductId, QUEUE_LIMIT, Question};
use crate::server::Db;

/// The questions a product page shows (the most voted), or `None` when the
/// product is not on sale.
pub async fn board(db: &Db, product: ProductId) -> anyhow::Result<Option<Vec<Question>>> {
    if super::catalog::get_product(db, product).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(db.questions_for(product, BOARD_LIMIT).await?.iter().map(|q| q.question()).collect()))
}

/// The staff queue: unanswered first, then newest.
pub async fn queue(db: &Db) -> anyhow::Result<Vec<Question>> {
    Ok(db.question_queue(QUEUE_LIMIT).await?.iter().map(|q| q.question()).collect())
}
