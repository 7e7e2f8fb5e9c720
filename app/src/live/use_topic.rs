//! Signals kept current by the live feed.

use leptos::prelude::*;
use serde::de::DeserializeOwned;

use super::{LiveClient, LiveEvent, SubscriptionId};
use crate::model::{Keyed, ProductId, ProductSummary};
use crate::protocol::{PresenceFigure, Seq, Snapshot, Topic};

fn sorted<T: Keyed>(mut items: Vec<T>) -> Vec<T> {
    items.sort_by_cached_key(|i| (i.sort_key(), i.key()));
    items
}

fn upsert<T: Keyed>(items: &mut Vec<T>, item: T) {
    items.retain(|i| i.key() != item.key());
    let at = items.partition_point(|i| (i.sort_key(), i.key()) < (item.sort_key(), item.key()));
    items.insert(at, item);
}

/// A live collection: starts as `snapshot`, then follows `topic` from its seq.
pub fn use_live_collection<T>(topic: Topic, snapshot: Snapshot<Vec<T>>) -> Signal<Vec<T>>
where
    T: Keyed + DeserializeOwned + Clone + Send + Sync + 'static,
{
    let items = RwSignal::new(sorted(snapshot.data));
    if let Some(live) = use_context::<LiveClient>() {
        let id = follow_collection(live, topic, Some(snapshot.seq), items, Some);
        on_cleanup(move || live.unsubscribe(id));
    }
    items.into()
}

/// Keep `items` current from collection `topic` after `since`: each item as
/// `shown` makes it (`None`: not shown, so it leaves the list), in the
/// list's order. The caller unsubscribes.
pub fn follow_collection<T, U>(
    live: LiveClient,
    topic: Topic,
    since: Option<Seq>,
    items: RwSignal<Vec<U>>,
    shown: impl Fn(T) -> Option<U> + 'static,
) -> SubscriptionId
where
    T: Keyed + DeserializeOwned,
    U: Keyed + Send + Sync + 'static,
{
    live.subscribe(topic, since, move |event| match event {
        LiveEvent::Snapshot(raw) => match crate::json::decode::<Vec<T>>(raw.get()) {
            Ok(all) => {
                items.try_set(sorted(all.into_iter().filter_map(&shown).collect()));
            }
            Err(err) => leptos::logging::warn!("live feed: bad snapshot: {err}"),
        },
        LiveEvent::Change(raw) => match crate::json::decode::<T>(raw.get()) {
            Ok(item) => {
                let key = item.key();
                let item = shown(item);
                items.try_update(|all| match item {
                    Some(item) => upsert(all, item),
                    None => all.retain(|i| i.key() != key),
                });
            }
            Err(err) => leptos::logging::warn!("live feed: bad change: {err}"),
        },
        LiveEvent::Removed(key) => {
            items.try_update(|all| all.retain(|i| i.key() != key));
        }
        LiveEvent::Typing { .. } | LiveEvent::Presence(_) => {}
    })
}

/// Some products, live: starts as `snapshot`, then follows each one's
/// `card:{id}` topic, so the cost is what is shown, however big the catalog.
/// A product taken off sale or deleted leaves the list.
pub fn use_live_cards(snapshot: Snapshot<Vec<ProductSummary>>) -> Signal<Vec<ProductSummary>> {
    let Snapshot { seq, data } = snapshot;
    let ids: Vec<ProductId> = data.iter().map(|p| p.id).collect();
    let items = RwSignal::new(data);
    if let Some(live) = use_context::<LiveClient>() {
        for product in ids {
            let id = live.subscribe(Topic::Card(product), Some(seq), move |event| match event {
                LiveEvent::Snapshot(raw) | LiveEvent::Change(raw) => match crate::json::decode::<Option<ProductSummary>>(raw.get()) {
                    Ok(Some(p)) => {
                        items.try_update(|all| match all.iter_mut().find(|x| x.id == p.id) {
                            Some(x) => *x = p,
                            None => all.push(p),
                        });
                    }
                    Ok(None) => {
                        items.try_update(|all| all.retain(|x| x.id != product));
                    }
                    Err(err) => leptos::logging::warn!("live feed: bad card: {err}"),
                },
                LiveEvent::Removed(_) => {
                    items.try_update(|all| all.retain(|x| x.id != product));
                }
                LiveEvent::Typing { .. } | LiveEvent::Presence(_) => {}
            });
            on_cleanup(move || live.unsubscribe(id));
        }
    }
    items.into()
}

/// A live entity: starts as `snapshot`, then follows `topic`; `None` once removed.
pub fn use_live_entity<T>(topic: Topic, snapshot: Snapshot<T>) -> Signal<Option<T>>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let entity = RwSignal::new(Some(snapshot.data));
    if let Some(live) = use_context::<LiveClient>() {
        let id = live.subscribe(topic, Some(snapshot.seq), move |event| match event {
            LiveEvent::Snapshot(raw) | LiveEvent::Change(raw) => match crate::json::decode::<Option<T>>(raw.get()) {
                Ok(value) => {
                    entity.try_set(value);
                }
                Err(err) => leptos::logging::warn!("live feed: bad entity: {err}"),
            },
            LiveEvent::Removed(_) => {
                entity.try_set(None);
            }
            LiveEvent::Typing { .. } | LiveEvent::Presence(_) => {}
        });
        on_cleanup(move || live.unsubscribe(id));
    }
    entity.into()
}

/// Who follows a presence topic now (`presence:{product}`, `carts:{product}`,
/// `staff`): the count over every instance and, on `staff`, the names.
/// Following it is being counted. `None` until the first figure arrives.
pub fn use_presence(topic: Topic) -> Signal<Option<PresenceFigure>> {
    let figure = RwSignal::new(None);
    if let Some(live) = use_context::<LiveClient>() {
        let id = live.subscribe(topic, None, move |event| presence_figure(event, figure));
        on_cleanup(move || live.unsubscribe(id));
    }
    figure.into()
}

/// Keep `figure` at a presence topic's latest figure.
pub(crate) fn presence_figure(event: LiveEvent<'_>, figure: RwSignal<Option<PresenceFigure>>) {
    match event {
        LiveEvent::Snapshot(raw) => match crate::json::decode::<PresenceFigure>(raw.get()) {
            Ok(f) => {
                figure.try_set(Some(f));
            }
            Err(err) => leptos::logging::warn!("live feed: bad presence figure: {err}"),
        },
        LiveEvent::Presence(f) => {
            figure.try_set(Some(f.clone()));
        }
        _ => {}
    }
}
