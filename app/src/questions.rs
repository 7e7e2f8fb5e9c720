//! Product questions and answers: shoppers ask and upvote on the product
//! page, staff answer there and from the console's queue; all of it live.

pub mod api;
mod board;

pub use board::{QuestionSection, StaffTools};
