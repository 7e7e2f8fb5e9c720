//! Conversation server functions: the order's customer and staff read and
//! write; anyone else is told the order does not exist.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ConversationView, MessageId, OrderSummary, UnreadOrder};
use crate::protocol::Snapshot;

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::AppError;
    use crate::model::{CustomerId, OrderId};
    use crate::server::{ServerContext, Viewer};

    /// Who may take part in an order's conversation: its customer, or staff.
    pub struct Party {
        pub ctx: ServerContext,
        pub me: CustomerId,
        pub is_staff: bool,
    }

    /// The caller, once known to be the order's customer or staff.
    pub async fn party(order: OrderId) -> Result<Party, AppError> {
        let ctx = crate::server::context::server_context()?;
        let (me, is_staff) = match crate::server::auth::request_viewer(&ctx.db).await? {
            Viewer::Anonymous => return Err(AppError::Unauthorized),
            Viewer::Customer(me) => (me, false),
            Viewer::Staff(me) => (me, true),
        };
        let owner = ctx.db.order_owner(order).await.map_err(AppError::internal)?;
        match owner {
            Some(owner) if is_staff || owner == me => Ok(Party { ctx, me, is_staff }),
            _ => Err(AppError::NotFound(format!("Order {order}"))),
        }
    }
}

/// An order's newest messages (oldest first) as of a seq.
#[server(endpoint = "conversation")]
pub async fn order_conversation(order: i64) -> Result<Snapshot<ConversationView>, AppError> {
    use crate::model::{MESSAGE_PAGE, OrderId};

    let run = async {
        let id = OrderId(order);
        let party = ssr::party(id).await?;
        let seq = party.ctx.watermark.get();
        let (rows, has_older) = party.ctx.db.conversation(id, None, MESSAGE_PAGE).await.map_err(AppError::internal)?;
        let messages = rows.iter().map(|m| m.message()).collect();
        Ok(Snapshot { seq, data: ConversationView { order_id: id, messages, has_older, as_staff: party.is_staff } })
    };
    run.await.map_err(AppError::respond)
}

/// Messages written before `before`, oldest first (a page of history).
#[server(endpoint = "older_messages")]
pub async fn older_messages(order: i64, before: i64) -> Result<ConversationView, AppError> {
    use crate::model::{MESSAGE_PAGE, OrderId};

    let run = async {
        let id = OrderId(order);
        let party = ssr::party(id).await?;
        let (rows, has_older) = party.ctx.db.conversation(id, Some(MessageId(before)), MESSAGE_PAGE).await.map_err(AppError::internal)?;
        let messages = rows.iter().map(|m| m.message()).collect();
        Ok(ConversationView { order_id: id, messages, has_older, as_staff: party.is_staff })
    };
    run.await.map_err(AppError::respond)
}

/// Write on an order's conversation (as the shop, for staff).
#[server(endpoint = "send_message")]
pub async fn send_message(order: i64, body: String) -> Result<MessageId, AppError> {
    use crate::model::{OrderId, check_message};

    let run = async {
        let id = OrderId(order);
        let party = ssr::party(id).await?;
        let body = check_message(&body).map_err(|(field, message)| AppError::validation(field, message))?;
        party.ctx.auth.begin_message(party.me).map_err(|wait| AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) })?;
        match party.ctx.db.send_message(id, Some(party.me), party.is_staff, &body).await.map_err(AppError::internal)? {
            Some(message) => Ok(message),
            None => Err(AppError::NotFound(format!("Order {id}"))),
        }
    };
    run.await.map_err(AppError::respond)
}

/// The caller has read the other side's messages: how many were new.
#[server(endpoint = "mark_read")]
pub async fn mark_conversation_read(order: i64) -> Result<u64, AppError> {
    use crate::model::OrderId;

    let run = async {
        let id = OrderId(order);
        let party = ssr::party(id).await?;
        party.ctx.db.mark_read(id, party.is_staff).await.map_err(AppError::internal)
    };
    run.await.map_err(AppError::respond)
}

/// Staff: orders with a conversation, newest message first.
#[server(endpoint = "admin/inbox")]
pub async fn staff_inbox() -> Result<Snapshot<Vec<OrderSummary>>, AppError> {
    use crate::server::Viewer;

    let run = async {
        let ctx = crate::server::context::server_context()?;
        match crate::server::auth::request_viewer(&ctx.db).await? {
            Viewer::Staff(_) => {}
            Viewer::Customer(_) => return Err(AppError::Forbidden),
            Viewer::Anonymous => return Err(AppError::Unauthorized),
        }
        let seq = ctx.watermark.get();
        let data = crate::server::queries::conversations::inbox(&ctx.db).await.map_err(AppError::internal)?;
        Ok(Snapshot { seq, data })
    };
    run.await.map_err(AppError::respond)
}

/// The signed-in customer's orders with messages from the shop they have not
/// read (for the header), newest first, as of a seq: follow `orders:{customer}`
/// from there. Empty for a visitor or staff.
#[server(endpoint = "my_unread")]
pub async fn my_unread() -> Result<Snapshot<Vec<UnreadOrder>>, AppError> {
    use crate::server::Viewer;

    let run = async {
        let ctx = crate::server::context::server_context()?;
        let Viewer::Customer(me) = crate::server::auth::request_viewer(&ctx.db).await? else {
            return Ok(Snapshot { seq: ctx.watermark.get(), data: Vec::new() });
        };
        let seq = ctx.watermark.get();
        let data = ctx.db.orders_with_unread(me).await.map_err(AppError::internal)?;
        Ok(Snapshot { seq, data })
    };
    run.await.map_err(AppError::respond)
}
